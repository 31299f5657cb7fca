"""Login with email and password: a new API token, rate-limited per email and address."""

from __future__ import annotations

from aiohttp import web

from hub.actions.operators import check_login, do_create_token
from hub.actions.unit import unit_of_work
from hub.domain.addresses import normalise_email
from hub.errors import Unauthorized
from hub.web.api.auth import LoginLimiter
from hub.web.api.calls import Call
from hub.web.api.schemas import LoginBody, TokenOut
from hub.web.api.spec import ApiRoute
from hub.web.client_address import client_address


def _client_address(request: web.Request) -> str:
    # Behind a reverse proxy in HUB_TRUSTED_PROXIES: the client it names.
    return client_address(request)


def login_route(limiter: LoginLimiter) -> ApiRoute:
    """The login route, bound to the limiter of its application (no globals)."""

    async def login(call: Call) -> TokenOut:
        body = call.body_as(LoginBody)
        email = normalise_email(body.email) or body.email.strip().lower()
        keys = [f"email:{email}", f"address:{_client_address(call.request)}"]
        limiter.check(keys)
        async with unit_of_work(call.hub.db, call.hub.broker) as session:
            operator = await check_login(session, body.email, body.password)
            if operator is None:
                limiter.failed(keys)
                raise Unauthorized("wrong email or password")
            token = await do_create_token(session, operator)
        limiter.succeeded(keys[0])
        return TokenOut(token=token)

    return ApiRoute(
        "POST",
        "/auth/login",
        login,
        "Log in with email and password; answers a new API token",
        TokenOut,
        body=LoginBody,
        auth=False,
        errors=(401, 429),
        tags=("auth",),
    )
