"""Admin edits and deletes canned responses and labels, manages macros, and an operator
runs a macro on a thread in one step (issue 16), in real headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from hub.actions.canned import do_create_canned
from hub.actions.macros import check_macro, do_create_macro
from hub.models import CannedResponse, Conversation
from hub.queries.conversations import labels_of
from tests.support import RunningHub
from tests.support.api import Api, customer_writes, make_api
from tests.support.browser import sign_in, watched_page


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser, viewport={"width": 1280, "height": 800}) as tab:
        yield tab


@pytest.fixture
async def boss(hub: RunningHub) -> Api:
    return await make_api(hub, "boss@shop.test", "Boss", role="admin")


async def labels(hub: RunningHub, conversation_id: int) -> list[str]:
    async with hub.hub.db.session() as session:
        return (await labels_of(session, [conversation_id]))[conversation_id]


async def conversation(hub: RunningHub, conversation_id: int) -> Conversation:
    async with hub.hub.db.session() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def test_an_admin_edits_and_deletes_canned_responses_and_labels(
    hub: RunningHub, boss: Api, page: Page
) -> None:
    async with hub.hub.db.session() as session:
        await do_create_canned(session, "hi", "Hello!")
        await do_create_canned(session, "old", "Something outdated")
        await session.commit()
    one = await customer_writes(hub, 7701, "First")
    two = await customer_writes(hub, 7702, "Second")
    await boss.ok(
        "POST", f"/conversations/{one.conversation_id}/labels", {"labels": ["vip", "spam"]}
    )
    await boss.ok(
        "POST", f"/conversations/{two.conversation_id}/labels", {"labels": ["vip", "priority"]}
    )

    await sign_in(page, hub, boss.email)
    await page.goto(f"{hub.url}/inbox/admin")
    hi = page.locator('[data-canned] tr[data-shortcut="hi"]')
    await hi.locator('textarea[name="text"]').fill("Hello, {{customer.first_name}}!")
    await hi.locator("[data-save-canned]").click()
    await expect(page.locator('[data-canned] tr[data-shortcut="hi"] textarea')).to_have_value(
        "Hello, {{customer.first_name}}!"
    )
    await page.locator('[data-canned] tr[data-shortcut="old"] [data-delete-canned] button').click()
    await expect(page.locator('[data-canned] tr[data-shortcut="old"]')).to_have_count(0)
    async with hub.hub.db.session() as session:
        assert [c.shortcut for c in await session.scalars(select(CannedResponse))] == ["hi"]

    vip = page.locator('[data-labels-admin] tr[data-label="vip"]')
    await expect(vip).to_contain_text("2")
    await vip.locator('input[name="name"]').fill("priority")
    await vip.locator("[data-rename-label] button").click()
    await expect(page.locator('[data-labels-admin] tr[data-label="vip"]')).to_have_count(0)
    assert await labels(hub, one.conversation_id) == ["priority", "spam"]
    assert await labels(hub, two.conversation_id) == ["priority"]  # merged, not doubled

    await page.locator(
        '[data-labels-admin] tr[data-label="spam"] [data-delete-label] button'
    ).click()
    await expect(page.locator('[data-labels-admin] tr[data-label="spam"]')).to_have_count(0)
    assert await labels(hub, one.conversation_id) == ["priority"]


async def test_an_admin_makes_a_macro_and_an_operator_runs_it_in_one_step(
    hub: RunningHub, boss: Api, anna: Api, page: Page, browser: Browser
) -> None:
    written = await customer_writes(hub, 7711, "My refund?", first_name="Lena", last_name="K")
    await sign_in(page, hub, boss.email)
    await page.goto(f"{hub.url}/inbox/admin")
    add = page.locator("[data-add-macro]")
    await add.locator('input[name="name"]').fill("Refund done")
    await add.locator('textarea[name="text"]').fill(
        "{{customer.first_name}}, your refund is on its way."
    )
    await add.locator('input[name="labels"]').fill("refund, done")
    await add.locator('select[name="status"]').select_option("pending")
    await add.locator('input[name="assign_to_me"]').check()
    await add.locator("button[type=submit]").click()
    row = page.locator('[data-macros] tr[data-macro="Refund done"]')
    await expect(row.locator('select[name="status"]')).to_have_value("pending")
    await row.locator('select[name="status"]').select_option("resolved")
    await row.locator("[data-save-macro]").click()
    await expect(page.locator('[data-macros] tr[data-macro="Refund done"] select')).to_have_value(
        "resolved"
    )

    async with watched_page(browser, viewport={"width": 1280, "height": 800}) as agent:
        await sign_in(agent, hub, anna.email)
        await agent.goto(f"{hub.url}/inbox/conversations/{written.conversation_id}")
        await agent.locator("[data-macro-form] select").select_option(label="Refund done")
        await agent.locator("[data-run-macro]").click()
        sent = agent.locator('[data-sender="operator"] [data-text]')
        await expect(sent).to_have_text("Lena, your refund is on its way.")
        await expect(agent.locator("[data-status-now]")).to_have_attribute(
            "data-status-now", "resolved"
        )
    done = await conversation(hub, written.conversation_id)
    assert (done.status, done.assignee_id, done.bot_active) == ("resolved", anna.operator_id, True)
    assert await labels(hub, written.conversation_id) == ["done", "refund"]

    # The same in one REST call, listed in OpenAPI.
    [macro] = (await anna.get("/macros"))["items"]
    again = await customer_writes(hub, 7711, "Thanks! One more question")
    answer = await anna.ok(
        "POST", f"/conversations/{again.conversation_id}/macros/{macro['id']}", {}
    )
    assert answer["message"]["text"] == "Lena, your refund is on its way."
    assert answer["conversation"]["status"] == "resolved"
    assert answer["conversation"]["labels"] == ["done", "refund"]
    status, _, _ = await anna.call("POST", f"/conversations/{again.conversation_id}/macros/999", {})
    assert status == 404
    paths = (await anna.get("/openapi.json"))["paths"]
    assert "post" in paths["/api/v1/conversations/{id}/macros/{macro_id}"]

    await page.locator(
        '[data-macros] tr[data-macro="Refund done"] [data-delete-macro] button'
    ).click()
    await expect(page.locator("[data-macros] tr[data-macro]")).to_have_count(0)


# The page never scrolls sideways (wide admin tables scroll inside themselves).
SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


async def test_a_macro_runs_from_a_phone_and_the_admin_lists_fit_it(
    hub: RunningHub, boss: Api, browser: Browser
) -> None:
    async with hub.hub.db.session() as session:
        macro = await do_create_macro(
            session,
            check_macro("Close politely", "Bye, {{customer.first_name}}!", [], "resolved", False),
        )
        await session.commit()
    written = await customer_writes(hub, 7721, "That is all", first_name="Ivo", last_name="P")
    await boss.ok("POST", f"/conversations/{written.conversation_id}/labels", {"labels": ["late"]})
    async with watched_page(browser, viewport={"width": 390, "height": 844}) as phone:
        await sign_in(phone, hub, boss.email)
        await phone.goto(f"{hub.url}/inbox/admin")
        await expect(phone.locator(f'[data-macros] tr[data-macro="{macro.name}"]')).to_be_attached()
        await expect(phone.locator('[data-labels-admin] tr[data-label="late"]')).to_be_attached()
        assert not await phone.evaluate(SIDEWAYS)
        await phone.goto(f"{hub.url}/inbox/conversations/{written.conversation_id}")
        await phone.locator("[data-run-macro]").click()
        await expect(phone.locator('[data-sender="operator"] [data-text]')).to_have_text(
            "Bye, Ivo!"
        )
        await expect(phone.locator("[data-send]")).to_be_in_viewport()
        assert not await phone.evaluate(SIDEWAYS)
    assert (await conversation(hub, written.conversation_id)).status == "resolved"
