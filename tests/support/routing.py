"""Routing set-ups the tests share: operators signed in to the inbox (online), auto-assignment
turned on, teams and rules stored as an admin stores them."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from hub.actions.routing_settings import do_set_auto_assign
from hub.actions.rules import do_save_rule
from hub.actions.teams import do_save_team
from hub.domain.hours import DAYS
from hub.models import Conversation
from tests.support.api import Api, Browser, make_api
from tests.support.running import RunningHub


async def online(running: RunningHub, stack: AsyncExitStack, email: str, name: str) -> Api:
    """An agent with an API token and a live inbox session: online for auto-assignment."""
    api = await make_api(running, email, name)
    http = await stack.enter_async_context(
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    )
    assert await Browser(running, http).sign_in(email) == 303
    return api


async def auto_assign(running: RunningHub, on: bool = True) -> None:
    async with running.hub.db.session() as session:
        await do_set_auto_assign(session, on)
        await session.commit()


async def team(
    running: RunningHub,
    name: str,
    members: list[int],
    *,
    timezone: str = "UTC",
    hours: dict[str, Any] | None = None,
) -> int:
    async with running.hub.db.session() as session:
        row = await do_save_team(
            session,
            None,
            name,
            members,
            timezone=timezone,
            hours_json=json.dumps(hours) if hours else None,
        )
        await session.commit()
        assert row.id is not None
        return row.id


def closed_all_day_now() -> dict[str, Any]:
    """Hours open only on a weekday other than today's (UTC): closed right now."""
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).weekday()
    return {DAYS[tomorrow]: [["09:00", "17:00"]]}


async def rule(running: RunningHub, name: str, when: dict[str, Any], *then: dict[str, Any]) -> int:
    async with running.hub.db.session() as session:
        row = await do_save_rule(
            session, None, name, json.dumps({"when": when, "then": list(then)}), enabled=True
        )
        await session.commit()
        assert row.id is not None
        return row.id


async def conversation(running: RunningHub, conversation_id: int) -> Conversation:
    async with running.hub.db.session() as session:
        found = await session.get(Conversation, conversation_id)
        assert found is not None
        return found
