"""Channel adapters: the edges. They import hub.domain only."""
