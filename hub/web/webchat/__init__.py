"""The web chat: the visitor's socket (`socket`), file uploads (`upload`, `files`) and the
budgets that keep one visitor or address from flooding the hub (`limits`). Frames are read
by `adapters.webchat`."""
