"""Operators' doors, beyond tests/web/test_inbox_security.py: planted session cookies,
CSRF on every inbox form route (taken from the app's router), a login limiter shared by the
API and the inbox, agents on admin routes, and what one operator's token may do."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from hub.actions.operators import do_create_operator, do_create_token
from hub.models import ApiToken, CannedResponse, Message, Operator
from hub.web.api import api_routes
from hub.web.api.auth import LoginLimiter
from hub.web.keys import LOGIN_LIMITER
from tests.factories import count
from tests.support import RunningHub, concrete_path
from tests.support.api import PASSWORD, Api, Browser, customer_writes

ADMIN_EMAIL = "root@shop.test"


@pytest.fixture
async def admin(hub: RunningHub) -> Api:
    async with hub.hub.db.session() as session:
        operator = await do_create_operator(
            session, email=ADMIN_EMAIL, name="Root", role="admin", password=PASSWORD
        )
        token = await do_create_token(session, operator)
        await session.commit()
    assert operator.id is not None
    return Api(hub, token, operator.id, ADMIN_EMAIL)


async def new_browser(running: RunningHub) -> Browser:
    return Browser(running, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))


@pytest.fixture
async def browsers(hub: RunningHub) -> AsyncIterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        await browser.http.close()


async def browser_of(opened: list[Browser], running: RunningHub) -> Browser:
    opened.append(await new_browser(running))
    return opened[-1]


async def issued_session(browser: Browser, email: str) -> str:
    """Sign in; the session id the hub's answer set (not whatever the jar held before)."""
    await browser.get("/inbox/login")
    token = browser.cookie("hub_login_csrf") or ""
    status, _, response = await browser.post(
        "/inbox/login", {"email": email, "password": PASSWORD, "csrf": token}
    )
    assert status == 303
    return response.cookies["hub_session"].value


async def signed_in(browser: Browser) -> bool:
    status, _, _ = await browser.get("/inbox")
    return status == 200


async def test_a_planted_session_cookie_is_never_authenticated_by_the_victims_login(
    hub: RunningHub, api: Api, admin: Api, browsers: list[Browser]
) -> None:
    attacker = await browser_of(browsers, hub)
    attackers_session = await issued_session(attacker, api.email)  # the attacker's own
    for planted in ("attacker-chosen-session-id", attackers_session):
        victim = await browser_of(browsers, hub)
        victim.http.cookie_jar.update_cookies({"hub_session": planted})
        issued = await issued_session(victim, ADMIN_EMAIL)
        assert issued and issued != planted  # the id changes at login
        # The planted id was not upgraded to the victim's account.
        replay = await browser_of(browsers, hub)
        replay.http.cookie_jar.update_cookies({"hub_session": planted})
        status, _, _ = await replay.get("/inbox/admin")
        assert status in (303, 403), planted
    # The victim's login ended the planted session; it never became the victim's.
    status, _, _ = await attacker.get("/inbox/admin")
    assert status == 303


def form_routes(running: RunningHub) -> list[str]:
    """Every POST route of the inbox, read from the application's router."""
    paths = set()
    for route in running.runner.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "POST" and path.startswith("/inbox"):
            paths.add(path)
    return sorted(paths)


async def state(running: RunningHub) -> tuple[int, ...]:
    return tuple(
        [await count(running.hub, m) for m in (Message, Operator, CannedResponse, ApiToken)]
    )


async def test_every_inbox_form_route_refuses_a_missing_or_wrong_csrf_token(
    hub: RunningHub, api: Api, admin: Api, browsers: list[Browser]
) -> None:
    message = await customer_writes(hub, 8101, "hello")
    concrete = {"{id}": str(message.conversation_id)}
    routes = form_routes(hub)
    assert "/inbox/admin/operators" in routes and "/inbox/conversations/{id}/reply" in routes
    browser = await browser_of(browsers, hub)
    assert await browser.sign_in(ADMIN_EMAIL) == 303
    form = {
        "text": "forged",
        "operator_id": "me",
        "status": "resolved",
        "labels": "x",
        "bot_active": "0",
        "name": "X",
        "other_id": "1",
        "email": "new@shop.test",
        "role": "admin",
        "password": "p4ssword-long",
        "shortcut": "x",
        "locale": "ru",
        "kind": "call",
        "note": "n",
        "email_or_phone": "x",
    }
    before = await state(hub)
    checked = []
    for route in routes:
        if route == "/inbox/login":
            continue  # its own double-submit token: covered in tests/web
        path = re.sub(r"\{\w+\}", lambda m: concrete.get(m.group(0), "1"), route)
        for forged in ({}, {"csrf": "wrong"}, {"csrf": ""}):
            status, _, _ = await browser.post(path, {**form, **forged})
            assert status == 403, (route, forged, status)
        checked.append(route)
        assert await state(hub) == before, route
    assert await signed_in(browser)  # ...and /inbox/logout without a token did not log out
    assert len(checked) >= 10, checked


async def test_session_calls_to_the_api_need_the_csrf_header_on_every_unsafe_route(
    hub: RunningHub, api: Api, browsers: list[Browser]
) -> None:
    browser = await browser_of(browsers, hub)
    assert await browser.sign_in(api.email) == 303
    before = await state(hub)
    for route in api_routes(LoginLimiter()):
        if route.method == "GET" or not route.auth:
            continue
        path = hub.url + concrete_path(route.full_path)
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            async with browser.http.request(route.method, path, json={}, headers=headers) as r:
                assert r.status == 403, (route.path, headers, r.status)
                assert (await r.json())["error"]["code"] == "csrf"
    assert await state(hub) == before


async def test_one_login_budget_per_address_across_emails_and_doors(
    hub: RunningHub, api: Api, admin: Api, browsers: list[Browser]
) -> None:
    # Credential stuffing: many emails from one address run out the address's budget,
    # whether tried on the API or the inbox form, and a valid login is refused as well
    # (until its wait runs out: the clock is frozen here).
    hub.runner.app[LOGIN_LIMITER].clock = lambda: 1000.0
    for n in range(5):
        status, _, _ = await api.call(
            "POST", "/auth/login", {"email": f"guess{n}@shop.test", "password": "x"}, token=None
        )
        assert status == 401
    browser = await browser_of(browsers, hub)
    for n in range(5):
        assert await browser.sign_in(f"other{n}@shop.test", "x") == 401
    status, body, headers = await api.call(
        "POST", "/auth/login", {"email": ADMIN_EMAIL, "password": PASSWORD}, token=None
    )
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert body["error"]["code"] == "rate_limited"
    assert PASSWORD not in str(body)
    assert await browser.sign_in(ADMIN_EMAIL) == 429


async def test_an_agent_gets_403_on_every_admin_route(
    hub: RunningHub, api: Api, browsers: list[Browser]
) -> None:
    browser = await browser_of(browsers, hub)
    assert await browser.sign_in(api.email) == 303
    admin_routes = [
        (r.method, r.resource.canonical)
        for r in hub.runner.app.router.routes()
        if r.resource and r.resource.canonical.startswith("/inbox/admin") and r.method != "HEAD"
    ]
    assert len(admin_routes) >= 3, admin_routes
    before = await state(hub)
    token = await browser.csrf()
    for method, route in admin_routes:
        path = route.replace("{id}", "1")  # the agent's own id, or its own token's
        form: dict[str, Any] = {
            "csrf": token,
            "email": "mole@shop.test",
            "name": "Mole",
            "role": "admin",
            "password": "a-long-password",
            "shortcut": "mole",
            "text": "x",
        }
        if method == "GET":
            status, html, _ = await browser.get(path)
            assert "mole@shop.test" not in html
        else:
            status, _, _ = await browser.post(path, form)
        assert status == 403, (method, path, status)
        assert await signed_in(browser)  # ...and nothing signed the agent out
    assert await state(hub) == before
    # And the agent cannot sign in as the operator it tried to create.
    mole = await browser_of(browsers, hub)
    assert await mole.sign_in("mole@shop.test", "a-long-password") == 401


async def test_no_api_route_creates_operators_or_tokens_for_someone_else(
    hub: RunningHub, api: Api, admin: Api
) -> None:
    """The API has no operator or token routes: a token comes only from the CLI or from a
    login with that operator's own password. Any operator may act on any conversation
    (SPEC §8), so conversations, customers and orders have no per-operator owner."""
    paths = {route.path for route in api_routes(LoginLimiter())}
    assert not any("operator" in p or "token" in p for p in paths), paths
    # An agent's token cannot be stretched to another operator's identity.
    status, data, _ = await api.call(
        "POST", "/auth/login", {"email": ADMIN_EMAIL, "password": "agent guesses"}, token=None
    )
    assert status == 401 and "token" not in data
    before = await state(hub)
    for body in ({"operator_id": admin.operator_id}, {"operator_id": 999_999}):
        await customer_writes(hub, 8102, "assign me")
        status, data, _ = await api.call("POST", "/conversations/1/assign", body)
        assert status in (200, 404, 422), (body, status, data)
    after = await state(hub)
    assert after[1:] == before[1:]  # no operator, canned response or token appeared


async def test_an_agent_token_cannot_create_canned_responses(hub: RunningHub, api: Api) -> None:
    status, _, _ = await api.call("POST", "/canned-responses", {"shortcut": "x", "text": "y"})
    assert status == 403
