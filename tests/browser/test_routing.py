"""Routing (issue 16) in real headless Chromium: auto-assignment across two operators, an
out-of-hours reply, a rule firing, and an overdue SLA in the list, each set up through the
routing admin page as an admin would."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from hub.domain.hours import DAYS
from hub.models import Conversation
from hub.models.base import utcnow
from tests.support import RunningHub
from tests.support.api import Api, customer_writes, make_api
from tests.support.browser import sign_in, watched_page

DESKTOP = {"width": 1280, "height": 800}
ROUTING = "/inbox/routing"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"routing_check_seconds": 0.05, "routing_settle_seconds": 0.0}


@pytest.fixture
async def boss(hub: RunningHub) -> Api:
    return await make_api(hub, "boss@shop.test", "Boss", role="admin")


async def add_rule(page: Page, hub: RunningHub, name: str, rule: dict[str, Any]) -> None:
    await page.goto(hub.url + ROUTING)
    form = page.locator('[data-rule-form=""]')
    await form.locator('input[name="name"]').fill(name)
    await form.locator('textarea[name="definition"]').fill(json.dumps(rule))
    await form.get_by_role("button", name="Add rule").click()
    await expect(page.locator(f'[data-rule="{name}"]')).to_be_visible()


async def test_auto_assignment_takes_turns_between_two_online_operators(
    browser: Browser, hub: RunningHub, boss: Api, anna: Api
) -> None:
    async with (
        watched_page(browser, viewport=DESKTOP) as admin,
        watched_page(browser, viewport=DESKTOP) as agent,
    ):
        await sign_in(admin, hub, boss.email)
        await sign_in(agent, hub, anna.email)
        await admin.goto(hub.url + ROUTING)
        await admin.locator("[data-auto-assign]").check()
        await admin.get_by_role("button", name="Save", exact=True).click()
        await expect(admin.locator("[data-auto-assign]")).to_be_checked()
        first = await customer_writes(hub, 9901, "first customer here")
        second = await customer_writes(hub, 9902, "second customer here")
        mine = {}
        for page in (admin, agent):
            await page.goto(hub.url + "/inbox?assignee=me")
            rows = page.locator(".rows li[data-conversation-id]")
            await expect(rows).to_have_count(1)
            mine[page] = int(await rows.first.get_attribute("data-conversation-id") or 0)
        assert sorted(mine.values()) == sorted([first.conversation_id, second.conversation_id])
        await agent.goto(f"{hub.url}/inbox/conversations/{mine[agent]}")
        await expect(agent.locator(".messages")).to_contain_text("Auto-assigned to Anna")


async def test_a_closed_team_sends_the_out_of_hours_reply(
    browser: Browser, hub: RunningHub, boss: Api
) -> None:
    closed_day = DAYS[(utcnow().weekday() + 3) % 7]  # neither today nor tomorrow anywhere
    async with watched_page(browser, viewport=DESKTOP) as page:
        await sign_in(page, hub, boss.email)
        await page.goto(hub.url + ROUTING)
        form = page.locator('[data-team-form=""]')
        await form.locator('input[name="name"]').fill("Weekend desk")
        await form.locator('input[name="timezone"]').fill("Europe/Berlin")
        await form.locator(f'input[name="hours_{closed_day}"]').fill("10:00-12:00")
        await form.get_by_role("button", name="Add team").click()
        team = page.locator('[data-team="Weekend desk"]')
        await expect(team).to_be_visible()
        team_id = int(
            (await team.locator("form").first.get_attribute("action") or "").split("/")[-1]
        )
        await add_rule(
            page,
            hub,
            "Everyone to the desk",
            {"then": [{"action": "set_team", "team_id": team_id}]},
        )
        message = await customer_writes(hub, 9903, "hello, are you open?", language_code="en")
        await page.goto(f"{hub.url}/inbox/conversations/{message.conversation_id}")
        messages = page.locator(".messages")
        await expect(messages).to_contain_text("Our Weekend desk team is away right now")
        await expect(messages).to_contain_text("Rule “Everyone to the desk”: team Weekend desk")
        await expect(page.locator("[data-team] select")).to_have_value(str(team_id))


async def test_a_rule_fires_and_shows_in_the_thread(
    browser: Browser, hub: RunningHub, boss: Api
) -> None:
    async with watched_page(browser, viewport=DESKTOP) as page:
        await sign_in(page, hub, boss.email)
        await add_rule(
            page,
            hub,
            "Refund requests",
            {
                "when": {"trigger": "new_conversation", "text_contains": ["refund"]},
                "then": [
                    {"action": "add_label", "label": "refund"},
                    {"action": "set_priority", "priority": "high"},
                ],
            },
        )
        message = await customer_writes(hub, 9904, "I need a refund for order 1042")
        await page.goto(f"{hub.url}/inbox/conversations/{message.conversation_id}")
        await expect(page.locator(".messages")).to_contain_text(
            "Rule “Refund requests”: label refund; priority high"
        )
        await expect(page.locator("[data-priority] select")).to_have_value("high")
        await expect(page.locator('[data-labels] input[name="labels"]')).to_have_value("refund")


async def test_an_overdue_sla_is_shown_in_the_list(
    browser: Browser, hub: RunningHub, anna: Api
) -> None:
    late = await customer_writes(hub, 9905, "I wrote two hours ago")
    fresh = await customer_writes(hub, 9906, "I just wrote")
    await anna.ok("POST", f"/conversations/{late.conversation_id}/priority", {"priority": "urgent"})
    async with hub.hub.db.session() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.id == late.conversation_id)  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(hours=2))
        )
        await session.commit()
    async with watched_page(browser, viewport=DESKTOP) as page:
        await sign_in(page, hub, anna.email)
        row = page.locator(f'.rows li[data-conversation-id="{late.conversation_id}"]')
        badge = row.locator('[data-sla="overdue"]')
        await expect(badge).to_have_text("First reply overdue")
        await expect(badge).to_be_visible()
        other = page.locator(f'.rows li[data-conversation-id="{fresh.conversation_id}"]')
        await expect(other.locator('[data-sla="running"]')).to_be_visible()
        await expect(other.locator('[data-sla="overdue"]')).to_have_count(0)
