"""Who is calling: bearer tokens (looked up hashed) or the inbox session."""

from __future__ import annotations

from aiohttp import web

from hub.actions.operators import operator_for_token
from hub.errors import Unauthorized
from hub.models import Operator
from hub.runtime.services import Hub
from hub.web import sessions
from hub.web.login_limits import LoginLimiter

__all__ = ["LoginLimiter", "authenticate", "bearer_token"]

MAX_TOKEN_CHARS = 200


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    return token


async def authenticate(request: web.Request, hub: Hub) -> Operator:
    """The operator the bearer token belongs to, else the inbox session's operator (unsafe
    methods then need the session's CSRF token in `X-CSRF-Token`); 401 for neither.

    Looked up on every request, so a revoked token or a disabled operator stops at once."""
    token = bearer_token(request)
    if token is None and "Authorization" not in request.headers:
        me = await sessions.current(request)
        if me is not None:
            sessions.check_csrf(request, me)
            return me.operator
    if token is None:
        raise Unauthorized("send an API token as `Authorization: Bearer TOKEN`")
    async with hub.db.session() as session:
        operator = await operator_for_token(session, token)
        if session.dirty:
            await session.commit()  # the token's last use, at most once a minute
    if operator is None:
        raise Unauthorized("the API token is not valid")
    return operator
