"""Operator session cookies and CSRF checks for the inbox (and cookie-authenticated API calls).

The cookie is HttpOnly and SameSite=Lax (Secure when the hub is served over https); every
unsafe request made with it must carry the session's CSRF token, as the form field `csrf`
or the `X-CSRF-Token` header. The login form, before any session exists, uses a
double-submit token: a random cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from aiohttp import web

from hub.actions.sessions import SessionRules, SignedIn, signed_in
from hub.errors import AccessDenied
from hub.runtime.services import Hub
from hub.web.keys import HUB

SESSION_COOKIE = "hub_session"
LOGIN_COOKIE = "hub_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
# Sent by inbox.js on the refreshes it makes by itself (live updates); like the live stream,
# these are not the operator's activity and never hold off the idle end of a session.
REFRESH_HEADER = "Hub-Refresh"
LIVE_PATH = "/inbox/events"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class _Looked:
    found: SignedIn | None


_SIGNED_IN = web.RequestKey("hub_signed_in", _Looked)


def _secure(hub: Hub) -> bool:
    return hub.settings.base_url.startswith("https://")


def rules(hub: Hub) -> SessionRules:
    return SessionRules.of(hub.settings.session_idle_minutes, hub.settings.session_max_hours)


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(rules(request.app[HUB]).lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_secure(request.app[HUB]),
    )


async def current(request: web.Request) -> SignedIn | None:
    """The signed-in operator of this request (looked up once per request, so an ended
    session or a disabled operator is refused from the next request on)."""
    if _SIGNED_IN in request:
        return request[_SIGNED_IN].found
    raw = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if raw:
        active = REFRESH_HEADER not in request.headers and request.path != LIVE_PATH
        found = await look_up(request, raw, active=active)
    request[_SIGNED_IN] = _Looked(found)
    return found


async def look_up(request: web.Request, raw: str, *, active: bool) -> SignedIn | None:
    """The session's operator now (uncached: the live stream asks again as it runs);
    `active` moves the session's last-seen time forward."""
    hub = request.app[HUB]
    async with hub.db.session() as session:
        found = await signed_in(session, raw, rules(hub), touch=active)
        await session.commit()  # the last-seen time, at most once a minute
    return found


async def still_signed_in(request: web.Request) -> bool:
    """For a long request (the live stream): False once its session has ended or its
    operator has been disabled since it began."""
    return await look_up(request, request.cookies.get(SESSION_COOKIE, ""), active=False) is not None


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def check_csrf(request: web.Request, me: SignedIn, form_token: str | None = None) -> None:
    """Unsafe methods must prove they come from the inbox's own pages."""
    if request.method in SAFE_METHODS:
        return
    given = form_token or request.headers.get(CSRF_HEADER)
    if not same_token(given, me.csrf_token):
        raise AccessDenied("the CSRF token is missing or wrong: reload the page", code="csrf")


def login_token(request: web.Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
