"""The sync engine and one package per billing platform (abillity, affinity, connect)."""
