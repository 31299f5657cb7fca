"""Taking access back (SPEC §10): login throttling that a stranger cannot turn into a
lock-out, tokens listed and revoked, operators disabled, enabled and given a new password,
inbox sessions that end when idle and after a maximum time. Through the real HTTP doors,
the `hub` command (a subprocess on the test's own database) and the admin page."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from hub.models import ApiToken, Operator, OperatorSession
from hub.models.base import utcnow
from hub.web.keys import LOGIN_LIMITER
from tests.support import RunningHub
from tests.support.api import PASSWORD, Api, Browser, make_api

HUB = str(Path(sys.executable).parent / "hub")
ADMIN_EMAIL = "root@shop.test"
STRANGER_ADDRESS = "127.0.0.2"  # the hub listens on 127.0.0.1; any 127/8 source reaches it


@dataclass
class Clock:
    """The login limiter's clock: tests move time instead of sleeping."""

    now: float = 10_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(hub: RunningHub) -> Clock:
    fake = Clock()
    hub.runner.app[LOGIN_LIMITER].clock = fake
    return fake


@pytest.fixture
async def admin(hub: RunningHub) -> Api:
    return await make_api(hub, ADMIN_EMAIL, "Root", role="admin")


@pytest.fixture
async def sessions() -> AsyncIterator[list[aiohttp.ClientSession]]:
    opened: list[aiohttp.ClientSession] = []
    yield opened
    for http in opened:
        await http.close()


def browser_from(
    opened: list[aiohttp.ClientSession], running: RunningHub, address: str = "127.0.0.1"
) -> Browser:
    http = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(local_addr=(address, 0)),
    )
    opened.append(http)
    return Browser(running, http)


async def api_login(browser: Browser, email: str, password: str) -> tuple[int, dict[str, str]]:
    url = f"{browser.url}/api/v1/auth/login"
    async with browser.http.post(url, json={"email": email, "password": password}) as r:
        await r.read()
        return r.status, dict(r.headers)


async def form_login(browser: Browser, email: str, password: str) -> tuple[int, dict[str, str]]:
    await browser.get("/inbox/login")
    token = browser.cookie("hub_login_csrf") or ""
    status, _, response = await browser.post(
        "/inbox/login", {"email": email, "password": password, "csrf": token}
    )
    return status, dict(response.headers)


async def token_works(running: RunningHub, token: str) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    async with running.http.get(f"{running.url}/api/v1/conversations", headers=headers) as r:
        await r.read()
        assert r.status in (200, 401), r.status
        return r.status == 200


async def signed_in(browser: Browser) -> bool:
    status, _, _ = await browser.get("/inbox")
    assert status in (200, 303), status
    return status == 200


async def hub_cli(running: RunningHub, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`hub ARGS` in its own process, on the running hub's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = running.settings.database_url
    process = await asyncio.create_subprocess_exec(
        HUB,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


# ---- login throttling ---------------------------------------------------------------------


async def test_a_strangers_failures_keep_the_operator_out_for_at_most_15_seconds(
    hub: RunningHub, admin: Api, clock: Clock, sessions: list[aiohttp.ClientSession]
) -> None:
    stranger = browser_from(sessions, hub, STRANGER_ADDRESS)
    # A persistent stranger: guesses the admin's password, waits whenever told to, goes on;
    # the operator comes right after the stranger's latest failure.
    failures = 0
    while failures < 30:
        status, headers = await api_login(stranger, ADMIN_EMAIL, f"guess {failures}")
        assert status in (401, 429)
        if status == 429:
            clock.now += int(headers["Retry-After"])
        else:
            failures += 1
    for door in (api_login, form_login):
        operator = browser_from(sessions, hub)
        status, headers = await door(operator, ADMIN_EMAIL, PASSWORD)
        if status == 429:
            wait = int(headers["Retry-After"])
            assert 0 < wait <= 15, wait
            clock.now += wait
            status, _ = await door(operator, ADMIN_EMAIL, PASSWORD)
        assert status in (200, 303), (door, status)
        # The stranger comes back to an account whose right password cleared its count.
        await api_login(stranger, ADMIN_EMAIL, "again")


async def test_one_address_guessing_many_emails_never_touches_another_address(
    hub: RunningHub, admin: Api, clock: Clock, sessions: list[aiohttp.ClientSession]
) -> None:
    stranger = browser_from(sessions, hub, STRANGER_ADDRESS)
    for n in range(12):
        status, _ = await api_login(stranger, f"random{n}@shop.test", "x")
        assert status in (401, 429)
    status, _ = await api_login(stranger, f"random{n}@shop.test", "x")
    assert status == 429  # the stranger's own address waits
    operator = browser_from(sessions, hub)
    assert (await api_login(operator, ADMIN_EMAIL, PASSWORD))[0] == 200
    assert await operator.sign_in(ADMIN_EMAIL) == 303


async def test_the_waits_grow_with_each_failure_and_refused_tries_never_count(
    hub: RunningHub, admin: Api, clock: Clock, sessions: list[aiohttp.ClientSession]
) -> None:
    stranger = browser_from(sessions, hub, STRANGER_ADDRESS)
    waits: list[int] = []
    while len(waits) < 8:
        status, headers = await api_login(stranger, ADMIN_EMAIL, "guess")
        if status == 429:
            wait = int(headers["Retry-After"])
            waits.append(wait)
            # Hammering while refused changes nothing: the wait only runs down.
            again, headers = await api_login(stranger, ADMIN_EMAIL, PASSWORD)
            assert again == 429 and int(headers["Retry-After"]) == wait
            if len(waits) < 8:
                clock.now += wait
        else:
            assert status == 401
    assert waits == sorted(waits) and waits[-1] >= 4 * waits[0], waits
    assert waits[-1] >= 60, waits
    # Behind the waits, the form answers 429 too, in the operator's words, with the wait.
    form = browser_from(sessions, hub, STRANGER_ADDRESS)
    await form.get("/inbox/login")
    token = form.cookie("hub_login_csrf") or ""
    status, html, response = await form.post(
        "/inbox/login", {"email": ADMIN_EMAIL, "password": "guess", "csrf": token}
    )
    assert status == 429 and f"Try again in {response.headers['Retry-After']} s" in html


# ---- tokens -------------------------------------------------------------------------------


async def test_token_list_shows_owner_and_last_use_but_never_the_secret(
    hub: RunningHub, api: Api, admin: Api
) -> None:
    assert api.token is not None and admin.token is not None
    assert await token_works(hub, api.token)
    code, out, err = await hub_cli(hub, "token", "list")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["ID", "EMAIL", "CREATED"] and len(lines) == 3, out
    anna = next(line for line in lines if api.email in line)
    root = next(line for line in lines if ADMIN_EMAIL in line)
    assert anna.split()[-1] != "never" and root.split()[-1] == "never", out
    for secret in (api.token, admin.token):
        assert secret not in out and secret not in err
    async with hub.hub.db.session() as session:
        stored = list((await session.scalars(select(ApiToken))).all())
    assert {row.token_hash for row in stored}.isdisjoint({api.token, admin.token})
    code, only, _ = await hub_cli(hub, "token", "list", "--email", ADMIN_EMAIL)
    assert code == 0 and api.email not in only and ADMIN_EMAIL in only


async def test_a_revoked_token_is_refused_on_the_next_request(
    hub: RunningHub, api: Api, admin: Api
) -> None:
    assert api.token is not None and admin.token is not None
    async with hub.hub.db.session() as session:
        token_id = await session.scalar(
            select(ApiToken.id).where(col(ApiToken.operator_id) == api.operator_id)
        )
    second = (await hub_cli(hub, "token", "create", "--email", api.email))[1].split()[-1]
    assert await token_works(hub, api.token) and await token_works(hub, second)
    code, out, err = await hub_cli(hub, "token", "revoke", str(token_id))
    assert code == 0, err
    assert not await token_works(hub, api.token)
    assert await token_works(hub, second) and await token_works(hub, admin.token)
    code, out, err = await hub_cli(hub, "token", "revoke", "--email", api.email)
    assert code == 0 and "revoked 1" in out, (out, err)
    assert not await token_works(hub, second) and await token_works(hub, admin.token)
    missing = await hub_cli(hub, "token", "revoke", "999999")
    assert missing[0] == 2 and "does not exist" in missing[2] and "Traceback" not in missing[2]
    neither = await hub_cli(hub, "token", "revoke")
    assert neither[0] == 2 and "--email" in neither[2]


async def test_an_admin_revokes_a_token_on_the_admin_page(
    hub: RunningHub, api: Api, admin: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    assert api.token is not None
    page = browser_from(sessions, hub)
    assert await page.sign_in(ADMIN_EMAIL) == 303
    _, html, _ = await page.get("/inbox/admin")
    assert "data-tokens" in html and api.token not in html
    async with hub.hub.db.session() as session:
        token_id = await session.scalar(
            select(ApiToken.id).where(col(ApiToken.operator_id) == api.operator_id)
        )
    assert f'data-token="{token_id}"' in html
    status, _, _ = await page.post(
        f"/inbox/admin/tokens/{token_id}/revoke", {"csrf": await page.csrf()}
    )
    assert status == 303
    assert not await token_works(hub, api.token)
    _, html, _ = await page.get("/inbox/admin")
    assert f'data-token="{token_id}"' not in html


# ---- operators ----------------------------------------------------------------------------


async def test_a_disabled_operator_is_out_at_once_and_back_when_enabled(
    hub: RunningHub, api: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    assert api.token is not None
    tab = browser_from(sessions, hub)
    assert await tab.sign_in(api.email) == 303 and await signed_in(tab)
    code, out, err = await hub_cli(hub, "operator", "disable", "--email", api.email)
    assert code == 0 and "disabled" in out, err
    assert not await signed_in(tab)
    assert not await token_works(hub, api.token)
    other = browser_from(sessions, hub, "127.0.0.3")
    assert (await api_login(other, api.email, PASSWORD))[0] == 401
    assert await other.sign_in(api.email) == 401
    code, out, err = await hub_cli(hub, "operator", "enable", "--email", api.email)
    assert code == 0, err
    assert await token_works(hub, api.token)  # tokens are revoked separately
    assert not await signed_in(tab)  # the ended session stays ended
    assert await other.sign_in(api.email) == 303 and await signed_in(other)


async def test_a_new_password_ends_the_operators_sessions(
    hub: RunningHub, api: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    tab = browser_from(sessions, hub)
    assert await tab.sign_in(api.email) == 303
    code, out, err = await hub_cli(
        hub, "operator", "password", "--email", api.email, "--password", "brand new secret"
    )
    assert code == 0, err
    assert "brand new secret" not in out + err
    assert not await signed_in(tab)
    assert await tab.sign_in(api.email) == 401
    assert await tab.sign_in(api.email, "brand new secret") == 303
    # Without --password it is asked for (read from stdin when that is not a terminal).
    code, _, err = await hub_cli(hub, "operator", "password", "--email", api.email, stdin="x\n")
    assert code == 2 and "at least 8" in err
    code, _, err = await hub_cli(
        hub, "operator", "password", "--email", api.email, stdin="piped password\n"
    )
    assert code == 0, err
    assert not await signed_in(tab)
    assert await tab.sign_in(api.email, "piped password") == 303


async def test_an_admin_disables_enables_and_resets_on_the_admin_page(
    hub: RunningHub, api: Api, admin: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    assert api.token is not None
    page = browser_from(sessions, hub)
    assert await page.sign_in(ADMIN_EMAIL) == 303
    agent = browser_from(sessions, hub)
    assert await agent.sign_in(api.email) == 303
    csrf = await page.csrf()
    base = f"/inbox/admin/operators/{api.operator_id}"
    assert (await page.post(f"{base}/disable", {"csrf": csrf}))[0] == 303
    assert not await signed_in(agent) and not await token_works(hub, api.token)
    _, html, _ = await page.get("/inbox/admin")
    assert f'data-disabled="1" data-operator="{api.email}"' in html
    assert (await page.post(f"{base}/enable", {"csrf": csrf}))[0] == 303
    assert await agent.sign_in(api.email) == 303
    status, _, _ = await page.post(f"{base}/password", {"csrf": csrf, "password": "reset by root"})
    assert status == 303 and not await signed_in(agent)
    assert await agent.sign_in(api.email, "reset by root") == 303
    # An admin cannot lock themselves out; setting their own password keeps this session.
    mine = f"/inbox/admin/operators/{admin.operator_id}"
    status, html, _ = await page.post(f"{mine}/disable", {"csrf": csrf})
    assert status == 403 and "cannot disable your own account" in html
    async with hub.hub.db.session() as session:
        me = await session.get(Operator, admin.operator_id)
        assert me is not None and me.disabled_at is None
    status, _, _ = await page.post(f"{mine}/password", {"csrf": csrf, "password": "short"})
    assert status == 422
    status, _, _ = await page.post(f"{mine}/password", {"csrf": csrf, "password": "root's new one"})
    assert status == 303 and await signed_in(page)


# ---- sessions -----------------------------------------------------------------------------


async def age_sessions(running: RunningHub, operator_id: int, **ago: timedelta) -> None:
    """Move the operator's sessions back in time (`created_at=`, `last_seen_at=`)."""
    now = utcnow()
    async with running.hub.db.session() as session:
        await session.execute(
            update(OperatorSession)
            .where(col(OperatorSession.operator_id) == operator_id)
            .values({name: now - delta for name, delta in ago.items()})
        )
        await session.commit()


async def test_a_session_ends_after_30_idle_minutes(
    hub: RunningHub, api: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    tab = browser_from(sessions, hub)
    assert await tab.sign_in(api.email) == 303
    await age_sessions(hub, api.operator_id, last_seen_at=timedelta(minutes=29))
    assert await signed_in(tab)  # ...and this request counts as activity
    async with hub.hub.db.session() as session:
        row = await session.scalar(select(OperatorSession))
        assert row is not None and utcnow() - row.last_seen_at < timedelta(minutes=1)
    await age_sessions(hub, api.operator_id, last_seen_at=timedelta(minutes=31))
    assert not await signed_in(tab)
    status, body, _ = await tab.get("/api/v1/conversations")
    assert status == 401, body


async def test_a_session_ends_12_hours_after_sign_in_however_busy(
    hub: RunningHub, api: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    tab = browser_from(sessions, hub)
    await tab.get("/inbox/login")
    token = tab.cookie("hub_login_csrf") or ""
    status, _, response = await tab.post(
        "/inbox/login", {"email": api.email, "password": PASSWORD, "csrf": token}
    )
    assert status == 303
    assert response.cookies["hub_session"]["max-age"] == str(12 * 3600)
    await age_sessions(hub, api.operator_id, created_at=timedelta(hours=11, minutes=59))
    assert await signed_in(tab)
    await age_sessions(
        hub, api.operator_id, created_at=timedelta(hours=12, minutes=1), last_seen_at=timedelta()
    )
    assert not await signed_in(tab)


@pytest.mark.parametrize("settings_overrides", [{"session_idle_minutes": 5}])
async def test_the_idle_end_follows_the_setting(
    hub: RunningHub, api: Api, settings_overrides: dict[str, Any], sessions: list[Any]
) -> None:
    tab = browser_from(sessions, hub)
    assert await tab.sign_in(api.email) == 303
    await age_sessions(hub, api.operator_id, last_seen_at=timedelta(minutes=6))
    assert not await signed_in(tab)


async def test_the_pages_own_refreshes_are_not_activity(
    hub: RunningHub, api: Api, sessions: list[aiohttp.ClientSession]
) -> None:
    """An inbox left open gets live updates and refetches its parts by itself; that must
    not keep an unattended session alive."""
    tab = browser_from(sessions, hub)
    assert await tab.sign_in(api.email) == 303
    await age_sessions(hub, api.operator_id, last_seen_at=timedelta(minutes=29))
    refresh = {"Hub-Fetch": "1", "Hub-Refresh": "1"}
    status, _, _ = await tab.get("/inbox/rows", headers=refresh)
    assert status == 200
    async with hub.hub.db.session() as session:
        row = await session.scalar(select(OperatorSession))
        assert row is not None and utcnow() - row.last_seen_at > timedelta(minutes=28)
    await age_sessions(hub, api.operator_id, last_seen_at=timedelta(minutes=31))
    status, _, _ = await tab.get("/inbox/rows", headers=refresh)
    assert status == 401  # inbox.js reloads to the login form on this


async def test_the_live_stream_of_a_disabled_operator_ends(
    hub: RunningHub, api: Api, sessions: list[aiohttp.ClientSession], monkeypatch: Any
) -> None:
    from hub.web.inbox import live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.05)
    tab = browser_from(sessions, hub)
    assert await tab.sign_in(api.email) == 303
    async with tab.http.get(tab.url + "/inbox/events") as stream:
        assert stream.status == 200
        assert b"connected" in await stream.content.readuntil(b"\n\n")
        code, _, err = await hub_cli(hub, "operator", "disable", "--email", api.email)
        assert code == 0, err
        # The stream closes at its next heartbeat (50 ms here); read to its end.
        rest = await asyncio.wait_for(stream.content.read(), timeout=30)
        assert b"data:" not in rest
    status, _, _ = await tab.get("/inbox/events")
    assert status == 401
