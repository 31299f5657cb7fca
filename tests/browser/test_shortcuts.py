"""Keyboard shortcuts in real headless Chromium, and the layout at laptop and tablet sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from hub.models import Conversation
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes
from tests.support.browser import sign_in, watched_page

# Any element wider than the viewport, or a pane that scrolls sideways, is an overflow.
OVERFLOWS = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width) out.push("page");
  document.querySelectorAll("body *").forEach((el) => {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !el.closest("dialog:not([open])"))
      out.push(el.tagName + "." + el.className);
  });
  document.querySelectorAll(".top, .list-pane, .thread-pane, .card-pane, .reports-pane")
    .forEach((el) => {
      if (el.scrollWidth > el.clientWidth + 1) out.push("scrolls: " + el.className);
    });
  return out;
}"""


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser, viewport={"width": 1280, "height": 800}) as tab:
        yield tab


async def conversation(hub: RunningHub, conversation_id: int) -> Conversation:
    async with hub.hub.db.session() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def test_j_k_move_a_assigns_r_resolves_and_enter_opens(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    oldest = await customer_writes(hub, 7101, "first question")
    middle = await customer_writes(hub, 7102, "second question")
    newest = await customer_writes(hub, 7103, "third question")
    await sign_in(page, hub, anna.email)
    rows = page.locator(".row[data-conversation-id]")
    await expect(rows).to_have_count(3)

    await page.keyboard.press("j")
    await expect(page.locator(".row.selected")).to_have_attribute(
        "data-conversation-id", str(newest.conversation_id)
    )
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("j")  # stops at the last row
    await expect(page.locator(".row.selected")).to_have_attribute(
        "data-conversation-id", str(oldest.conversation_id)
    )
    await page.keyboard.press("k")
    selected = page.locator(".row.selected")
    await expect(selected).to_have_attribute("data-conversation-id", str(middle.conversation_id))

    await page.keyboard.press("a")

    async def assigned() -> bool:
        return (await conversation(hub, middle.conversation_id)).assignee_id == anna.operator_id

    await eventually(assigned, what="a assigned the selected conversation to me")

    await page.keyboard.press("r")

    async def resolved() -> bool:
        return (await conversation(hub, middle.conversation_id)).status == "resolved"

    await eventually(resolved, what="r resolved the selected conversation")
    # It leaves the open list; the selection stays in its place, on the next row.
    await expect(
        page.locator(f'.row[data-conversation-id="{middle.conversation_id}"]')
    ).to_have_count(0)
    await expect(page.locator(".row.selected")).to_have_attribute(
        "data-conversation-id", str(oldest.conversation_id)
    )
    assert (await conversation(hub, newest.conversation_id)).status == "open"

    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{hub.url}/inbox/conversations/{oldest.conversation_id}")
    await expect(page.locator("[data-live-state]")).to_have_text("live")
    await page.keyboard.press("k")
    await page.keyboard.press("o")
    await expect(page).to_have_url(f"{hub.url}/inbox/conversations/{newest.conversation_id}")


async def test_shortcuts_never_fire_while_typing_and_esc_closes_the_help(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    message = await customer_writes(hub, 7201, "please call me")
    await sign_in(page, hub, anna.email)
    await page.goto(f"{hub.url}/inbox/conversations/{message.conversation_id}")
    await expect(page.locator("[data-live-state]")).to_have_text("live")

    box = page.locator('textarea[name="text"]')
    await box.click()
    await page.keyboard.type("jar? /ok")  # every shortcut letter, typed as text
    await expect(box).to_have_value("jar? /ok")
    await expect(page.locator("[data-shortcuts-help]")).not_to_be_visible()
    current = await conversation(hub, message.conversation_id)
    assert (current.status, current.assignee_id) == ("open", None)
    await box.fill("")
    await page.evaluate("document.activeElement.blur()")

    help_overlay = page.locator("[data-shortcuts-help]")
    await page.keyboard.press("?")
    await expect(help_overlay).to_be_visible()
    await expect(help_overlay).to_contain_text("Assign to me")
    await page.keyboard.press("r")  # the help is open: nothing else happens
    await page.keyboard.press("Escape")
    await expect(help_overlay).not_to_be_visible()

    await page.keyboard.press("/")
    search = page.locator('[data-filters] input[name="q"]')
    await expect(search).to_be_focused()
    await page.keyboard.type("ok")
    await expect(search).to_have_value("ok")
    await page.evaluate("document.activeElement.blur()")

    # On a thread, a and r act on the thread's own conversation.
    await page.keyboard.press("a")
    await expect(page.locator("[data-assign] select")).to_have_value(str(anna.operator_id))
    assert (await conversation(hub, message.conversation_id)).status == "open"
    await page.keyboard.press("r")
    await expect(page.locator(".head[data-status-now]")).to_have_attribute(
        "data-status-now", "resolved"
    )


@pytest.mark.parametrize("size", [(1280, 800), (820, 1180)], ids=["laptop", "tablet"])
async def test_nothing_overflows_at_laptop_and_tablet_sizes(
    hub: RunningHub, anna: Api, browser: Browser, size: tuple[int, int]
) -> None:
    long = "A rather long question about a parcel that never arrived " * 3
    message = await customer_writes(
        hub, 7301, long, first_name="Konstantin", last_name="Konstantinopolsky"
    )
    await anna.ok(
        "POST",
        f"/conversations/{message.conversation_id}/messages",
        {"text": "Called the customer back", "note_kind": "phone_call"},
        status=201,
    )
    width, height = size
    async with watched_page(browser, viewport={"width": width, "height": height}) as tab:
        await sign_in(tab, hub, anna.email)
        for path in (
            "/inbox",
            f"/inbox/conversations/{message.conversation_id}",
            "/inbox/reports?days=90",
        ):
            await tab.goto(hub.url + path)
            await expect(tab.locator("[data-live-state]")).to_have_text("live")
            assert await tab.evaluate(OVERFLOWS) == [], (size, path)
        # Every control of the thread is on screen, the reply box included.
        await tab.goto(f"{hub.url}/inbox/conversations/{message.conversation_id}")
        for control in ("[data-send]", "[data-resolve]", "[data-assign-me]"):
            await expect(tab.locator(control)).to_be_in_viewport()
