"""What every inbox view shares: the signed-in operator, forms with CSRF, rendering."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from hub.errors import HubError, Unauthorized
from hub.runtime.services import Hub
from hub.web import i18n, sessions
from hub.web.keys import HUB, TEMPLATES
from hub.web.sessions import SignedIn

FETCH_HEADER = "Hub-Fetch"  # set by inbox.js: answer 204/JSON instead of a redirect
View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def hub_of(request: web.Request) -> Hub:
    return request.app[HUB]


async def render(
    request: web.Request, template: str, status: int = 200, **context: Any
) -> web.Response:
    page = request.app[TEMPLATES].get_template(template)
    html = page.render(request=request, **context)
    response = web.Response(text=html, status=status, content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return response


SIGNED_IN_AREAS = ("/inbox", "/sandbox")


def safe_next(target: str | None) -> str:
    """Only a path of the hub's own signed-in pages: never an open redirect to another site."""
    if (
        not target
        or not any(
            target == area or target.startswith((f"{area}/", f"{area}?"))
            for area in SIGNED_IN_AREAS
        )
        or "//" in target
        or "\\" in target
    ):
        return "/inbox"
    return target


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/inbox/login?next=" + quote(request.path_qs, safe=""))


def page(view: Callable[[web.Request, SignedIn], Awaitable[web.StreamResponse]]) -> View:
    """A page or fragment for signed-in operators: others go to the login form (pages)
    or get 401 (fragments and live updates, which the browser fetches itself)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        me = await sessions.current(request)
        if me is None:
            if request.headers.get(FETCH_HEADER) or request.path.startswith("/inbox/events"):
                raise Unauthorized("sign in first")
            raise login_redirect(request)
        try:
            return await view(request, me)
        except HubError as exc:
            return await failure(request, me, exc)

    handle.__name__ = view.__name__
    return handle


def action(
    view: Callable[[web.Request, SignedIn, MultiDictProxy[str]], Awaitable[str]],
) -> View:
    """A form post: signed in, CSRF checked; the view answers where to go next."""

    async def handle(request: web.Request) -> web.StreamResponse:
        me = await sessions.current(request)
        if me is None:
            raise Unauthorized("sign in first")
        form = await request.post()
        token = form.get("csrf")
        sessions.check_csrf(request, me, token if isinstance(token, str) else None)
        fields = MultiDictProxy(_text_fields(form))
        return await answer_form(request, me, view(request, me, fields))

    handle.__name__ = view.__name__
    return handle


async def answer_form(
    request: web.Request, me: SignedIn, done: Awaitable[str]
) -> web.StreamResponse:
    """Where a form post goes next: a redirect, or JSON for the page's own fetch; a refused
    post is shown on the page it came from."""
    try:
        target = await done
    except HubError as exc:
        return await failure(request, me, exc)
    if request.headers.get(FETCH_HEADER):
        return web.json_response({"ok": True, "location": target})
    raise web.HTTPSeeOther(target)


def _text_fields(form: MultiDictProxy[Any]) -> MultiDict[str]:
    return MultiDict((k, v) for k, v in form.items() if isinstance(v, str))


async def failure(request: web.Request, me: SignedIn, exc: HubError) -> web.StreamResponse:
    if request.headers.get(FETCH_HEADER):
        return web.json_response(
            {"error": {"code": exc.code, "message": i18n.error_text(me.operator.locale, exc)}},
            status=exc.status,
        )
    return await render(request, "inbox/error.html", exc.status, me=me, error=exc)
