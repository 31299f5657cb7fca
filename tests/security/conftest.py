"""The security suite reuses the REST API fixtures (an agent with a password and a token)."""

from tests.web.conftest import api

__all__ = ["api"]
