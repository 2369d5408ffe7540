"""The Abillity (aBILLity REST API) connector: client, mappers, sync rules, emulator."""
