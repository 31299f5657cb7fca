"""Log in and out of the inbox: argon2 passwords, the shared login limiter, fresh sessions."""

from __future__ import annotations

import math

from aiohttp import web

from hub.actions.operators import check_login
from hub.actions.sessions import do_end_session, do_start_session
from hub.actions.unit import unit_of_work
from hub.domain.addresses import normalise_email
from hub.errors import TooManyRequests
from hub.web import i18n, sessions
from hub.web.inbox.common import hub_of, render, safe_next
from hub.web.login_limits import LoginLimiter, login_address

MAX_FIELD_CHARS = 1000


async def _form(
    request: web.Request, error: str | None, status: int, **context: str
) -> web.Response:
    token = sessions.login_token(request)
    response = await render(
        request,
        "inbox/login.html",
        status,
        login_csrf=token,
        error=error,
        next=safe_next(request.query.get("next") or context.get("next")),
        email=context.get("email", ""),
        retry_after=context.get("retry_after", ""),
        ui_locale=i18n.login_locale(
            request.query.get("lang") or context.get("lang"),
            request.headers.get("Accept-Language"),
        ),
    )
    sessions.set_cookie(response, request, sessions.LOGIN_COOKIE, token)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    """Shown also to a signed-in operator: signing in again switches accounts."""
    return await _form(request, None, 200)


def login_view(limiter: LoginLimiter) -> web.RouteDef:
    async def login(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        email, password, given, target, lang = (
            str(form.get(name, ""))[:MAX_FIELD_CHARS]
            for name in ("email", "password", "csrf", "next", "lang")
        )
        if not sessions.same_token(given, request.cookies.get(sessions.LOGIN_COOKIE, "")):
            return await _form(request, "expired", 403, email=email, next=target, lang=lang)
        account = normalise_email(email) or email.strip().lower()
        address = login_address(request)
        try:
            limiter.attempt(account, address)
        except TooManyRequests as exc:
            wait = str(max(1, math.ceil(exc.retry_after)))
            response = await _form(
                request, "rate_limited", 429, email=email, next=target, lang=lang, retry_after=wait
            )
            response.headers["Retry-After"] = wait
            return response
        hub = hub_of(request)
        async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
            operator = await check_login(session, email, password)
            raw = (
                await do_start_session(session, operator, sessions.rules(hub))
                if operator is not None
                else None
            )
            old = request.cookies.get(sessions.SESSION_COOKIE)
            if raw is not None and old:
                await do_end_session(session, old)  # a new id on every login: no fixation
        if raw is None:
            return await _form(request, "wrong", 401, email=email, next=target, lang=lang)
        limiter.succeeded(account, address)
        response = web.HTTPSeeOther(safe_next(target))
        sessions.set_cookie(response, request, sessions.SESSION_COOKIE, raw)
        response.del_cookie(sessions.LOGIN_COOKIE, path="/")
        raise response

    return web.post("/inbox/login", login)


async def logout(request: web.Request) -> web.StreamResponse:
    me = await sessions.current(request)
    if me is not None:
        form = await request.post()
        token = form.get("csrf")
        sessions.check_csrf(request, me, token if isinstance(token, str) else None)
        hub = hub_of(request)
        async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
            await do_end_session(session, request.cookies.get(sessions.SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/inbox/login")
    response.del_cookie(sessions.SESSION_COOKIE, path="/")
    raise response
