"""The routing admin page through the inbox's own forms: admins change it, agents read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update

from hub.actions.rules import list_rules
from hub.actions.teams import list_teams
from hub.models import Conversation
from hub.models.base import utcnow
from hub.queries.routing_settings import auto_assign_on, sla_policy
from tests.support import RunningHub
from tests.support.api import Api, Browser, customer_writes, make_api

ROUTING = "/inbox/admin/routing"  # where admins change it
ROUTING_PAGE = "/inbox/routing"  # where every operator reads it


@pytest.fixture
async def boss(hub: RunningHub) -> AsyncIterator[tuple[Api, Browser]]:
    api = await make_api(hub, "boss@shop.test", "Boss", role="admin")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(hub, http)
        assert await browser.sign_in(api.email) == 303
        yield api, browser


async def test_an_admin_sets_up_routing_with_the_forms(
    hub: RunningHub, boss: tuple[Api, Browser], api: Api
) -> None:
    _, browser = boss
    csrf = await browser.csrf()
    form = {
        "csrf": csrf,
        "auto_assign": "on",
        f"cap_{api.operator_id}": "3",
        **{f"sla_{p}_first_response": "30" for p in ("low", "normal", "high", "urgent")},
        **{f"sla_{p}_resolution": "600" for p in ("low", "normal", "high", "urgent")},
    }
    assert (await browser.post(f"{ROUTING}/settings", form))[0] == 303
    team = {
        "csrf": csrf,
        "name": "Night shift",
        "timezone": "Europe/Moscow",
        "member": str(api.operator_id),
        "hours_mon": "09:00-13:00, 14:00-18:00",
        "hours_sat": "10:00-14:00",
    }
    assert (await browser.post(f"{ROUTING}/teams", team))[0] == 303
    rule = {
        "csrf": csrf,
        "name": "Refunds",
        "enabled": "on",
        "definition": '{"when": {"text_contains": ["refund"]}, "then": '
        '[{"action": "add_label", "label": "refund"}]}',
    }
    assert (await browser.post(f"{ROUTING}/rules", rule))[0] == 303
    async with hub.hub.db.session() as session:
        assert await auto_assign_on(session)
        assert (await sla_policy(session)).urgent.first_response == 30
        [night] = await list_teams(session)
        [refunds] = await list_rules(session)
    assert night.name == "Night shift" and night.member_ids == (api.operator_id,)
    assert night.hours.mon == [("09:00", "13:00"), ("14:00", "18:00")]
    assert night.timezone == "Europe/Moscow" and refunds.enabled
    status, html, _ = await browser.get(ROUTING_PAGE)
    assert status == 200 and 'data-team="Night shift"' in html and 'data-rule="Refunds"' in html
    assert 'value="09:00-13:00, 14:00-18:00"' in html
    # Switched off, then deleted.
    off = {"csrf": csrf}
    assert (await browser.post(f"{ROUTING}/rules/{refunds.id}/enabled", off))[0] == 303
    async with hub.hub.db.session() as session:
        assert not (await list_rules(session))[0].enabled
    assert (await browser.post(f"{ROUTING}/rules/{refunds.id}/delete", off))[0] == 303
    assert (await browser.post(f"{ROUTING}/teams/{night.id}/delete", off))[0] == 303
    async with hub.hub.db.session() as session:
        assert await list_rules(session) == [] and await list_teams(session) == []


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/teams", {"name": "A", "hours_tue": "18:00-09:00"}),
        ("/teams", {"name": "A", "hours_tue": "nine to five"}),
        ("/teams", {"name": "A", "timezone": "Mars/Base"}),
        ("/rules", {"name": "R", "definition": '{"when": {}, "then": []}'}),
        ("/rules", {"name": "R", "definition": "not json"}),
        ("/settings", {"sla_high_first_response": "-5"}),
    ],
)
async def test_bad_routing_input_is_refused_and_named(
    hub: RunningHub, boss: tuple[Api, Browser], path: str, fields: dict[str, str]
) -> None:
    _, browser = boss
    status, html, _ = await browser.post(ROUTING + path, {"csrf": await browser.csrf(), **fields})
    assert status == 422, html[:500]


async def test_agents_read_routing_but_cannot_change_it(hub: RunningHub, agent: Browser) -> None:
    status, html, _ = await agent.get(ROUTING_PAGE)
    assert status == 200 and "data-read-only" in html
    assert (await agent.get(ROUTING))[0] in (403, 404, 405)  # no admin page for an agent
    for path in ("/settings", "/teams", "/rules"):
        status, _, _ = await agent.post(ROUTING + path, {"csrf": await agent.csrf(), "name": "x"})
        assert status == 403


async def test_an_overdue_first_reply_shows_in_the_list_and_the_thread(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    message = await customer_writes(hub, 9800, "still waiting")
    await api.ok(
        "POST", f"/conversations/{message.conversation_id}/priority", {"priority": "urgent"}
    )
    async with hub.hub.db.session() as session:  # the customer wrote two hours ago
        await session.execute(
            update(Conversation)
            .where(Conversation.id == message.conversation_id)  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(hours=2))
        )
        await session.commit()
    _, html, _ = await agent.get("/inbox")
    assert 'data-sla="overdue"' in html and "First reply overdue" in html
    _, thread, _ = await agent.get(f"/inbox/conversations/{message.conversation_id}")
    assert "data-sla-clocks" in thread and "First reply overdue" in thread
