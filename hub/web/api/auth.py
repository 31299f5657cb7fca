"""Who is calling: bearer tokens (looked up hashed) or the inbox session."""

from __future__ import annotations

from aiohttp import web

from hub.actions.agent_bot import bot_token_valid, looks_like_bot_token
from hub.errors import AccessDenied, Unauthorized
from hub.models import Operator
from hub.runtime.services import Hub
from hub.web import sessions
from hub.web.keys import TOKEN_LOOKUPS
from hub.web.login_limits import LoginLimiter

__all__ = ["LoginLimiter", "authenticate", "authenticate_bot", "bearer_token"]

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

    Looked up for every request, so a revoked token or a disabled operator stops at once;
    requests that bear one token together share its lookup (hub.web.token_lookups)."""
    token = bearer_token(request)
    if token is None and "Authorization" not in request.headers:
        me = await sessions.current(request)
        if me is not None:
            sessions.check_csrf(request, me)
            return me.operator
    if token is None:
        raise Unauthorized("send an API token as `Authorization: Bearer TOKEN`")
    operator = await request.app[TOKEN_LOOKUPS].operator(hub.db, token)
    if operator is None:
        raise Unauthorized("the API token is not valid")
    return operator


async def authenticate_bot(request: web.Request, hub: Hub, *, bot_route: bool) -> bool:
    """True when the caller is the external bot (a live bot token). A bot token on a route
    that is not the bot's is refused (403), an unknown one 401; False: not a bot token,
    the caller is an operator (`authenticate`)."""
    token = bearer_token(request)
    if token is None or not looks_like_bot_token(token):
        return False
    async with hub.db.session() as session:
        valid = await bot_token_valid(session, token)
        await session.commit()  # the token's last use, at most once a minute
    if not valid:
        raise Unauthorized("the bot token is not valid")
    if not bot_route:
        raise AccessDenied(
            "the external bot's token only reads, answers and hands off conversations "
            "that are with the bot",
            code="bot_token",
        )
    return True
