"""The Affinity (Aurora Affinity) connector: its client, mappers, sync rules, emulator,
imports and reconciliation (docs/affinity.md)."""
