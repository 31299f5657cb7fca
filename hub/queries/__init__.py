"""Reads for the inbox, the REST API and the reports; never writes (writers are `hub.actions`)."""
