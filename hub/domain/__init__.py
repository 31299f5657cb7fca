"""Pure domain types: no I/O, no database, no provider. Adapters and bots see only this."""
