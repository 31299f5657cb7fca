"""Login with email and password: a new API token, throttled per account and address."""

from __future__ import annotations

from hub.actions.operators import check_login, do_create_token
from hub.actions.unit import unit_of_work
from hub.domain.addresses import normalise_email
from hub.errors import Unauthorized
from hub.web.api.calls import Call
from hub.web.api.schemas import LoginBody, TokenOut
from hub.web.api.spec import ApiRoute
from hub.web.login_limits import LoginLimiter, login_address


def login_route(limiter: LoginLimiter) -> ApiRoute:
    """The login route, bound to the limiter of its application (no globals)."""

    async def login(call: Call) -> TokenOut:
        body = call.body_as(LoginBody)
        email = normalise_email(body.email) or body.email.strip().lower()
        address = login_address(call.request)
        limiter.attempt(email, address)
        async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
            operator = await check_login(session, body.email, body.password)
            if operator is None:
                raise Unauthorized("wrong email or password")
            token = await do_create_token(session, operator)
        limiter.succeeded(email, address)
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
