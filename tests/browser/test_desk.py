"""An operator's everyday details (issue 16) in real headless Chromium: who has each
conversation and how long its customer has waited, search snippets, mail subjects, snooze
presets, canned responses anywhere in the text, macros."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import update
from sqlmodel import col

from hub.actions.canned import do_create_canned
from hub.actions.operator_locale import do_set_operator_locale
from hub.models import Conversation, Message
from tests.factories import messages_of
from tests.fakes.smtp_relay import SmtpRelay
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.api import Api, customer_writes, make_api
from tests.support.browser import sign_in, watched_page
from tests.support.mail import deliver, mail, mail_settings


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with watched_page(browser, viewport={"width": 1280, "height": 800}) as tab:
        yield tab


async def backdate(hub: RunningHub, message_id: int, minutes: int) -> None:
    """The customer wrote `minutes` ago."""
    async with hub.hub.db.session() as session:
        await session.execute(
            update(Message)
            .where(col(Message.id) == message_id)
            .values(created_at=datetime.now(UTC) - timedelta(minutes=minutes))
        )
        await session.commit()


async def test_rows_show_the_assignee_and_how_long_the_customer_has_waited(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    waiting = await customer_writes(hub, 7601, "Hello, anyone there?")
    answered = await customer_writes(hub, 7602, "A question about my order")
    await operator_reply(hub, answered.conversation_id, "Here is the answer")
    await backdate(hub, waiting.id or 0, 12)
    await anna.ok(
        "POST",
        f"/conversations/{waiting.conversation_id}/assign",
        {"operator_id": anna.operator_id},
    )

    await sign_in(page, hub, anna.email)
    first = page.locator(f'.row[data-conversation-id="{waiting.conversation_id}"]')
    second = page.locator(f'.row[data-conversation-id="{answered.conversation_id}"]')
    await expect(first.locator("[data-assignee]")).to_have_text("Anna")
    await expect(first.locator("[data-waiting]")).to_have_text("12 min")
    await expect(second.locator("[data-assignee]")).to_have_text("Unassigned")
    await expect(second.locator("[data-waiting]")).to_have_count(0)

    # A later customer message does not restart the wait: it counts from the first one.
    await customer_writes(hub, 7601, "Still waiting")
    await expect(first.locator("[data-waiting]")).to_have_text("12 min")
    # The answer ends it, live.
    await operator_reply(hub, waiting.conversation_id, "Sorry for the wait")
    await expect(first.locator("[data-waiting]")).to_have_count(0)

    async with hub.hub.db.session() as session:
        await do_set_operator_locale(session, anna.operator_id, "ru")
        await session.commit()
    await backdate(hub, answered.id or 0, 180)
    await customer_writes(hub, 7602, "And one more thing")
    async with hub.hub.db.session() as session:
        later = await session.scalar(
            update(Message)
            .where(col(Message.text) == "And one more thing")
            .values(created_at=datetime.now(UTC) - timedelta(minutes=185))
            .returning(col(Message.id))
        )
        await session.commit()
    assert later is not None
    await page.reload()
    await expect(second.locator("[data-assignee]")).to_have_text("Без ответственного")
    await expect(second.locator("[data-waiting]")).to_have_text("3 ч")


async def test_search_results_show_the_matching_line_marked_and_escaped(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    early = await customer_writes(hub, 7611, "My <b>refund</b> for the blue kettle is late")
    await customer_writes(hub, 7611, "Also, thank you for the fast delivery")
    other = await customer_writes(hub, 7612, "Nothing about money here")

    await sign_in(page, hub, anna.email)
    await page.locator("[data-filters] input[name=q]").fill("refund")
    await page.locator("[data-filters] input[name=q]").press("Enter")
    row = page.locator(f'.row[data-conversation-id="{early.conversation_id}"]')
    line = row.locator("[data-snippet]")
    await expect(line).to_have_text("My <b>refund</b> for the blue kettle is late")
    await expect(line.locator("mark")).to_have_text("refund")
    await expect(line.locator("b")).to_have_count(0)  # the customer's text is not markup
    unmatched = page.locator(f'.row[data-conversation-id="{other.conversation_id}"]')
    await expect(unmatched).to_have_count(0)


@pytest.fixture
async def mail_hub(backend_urls: dict[str, Any]) -> AsyncIterator[RunningHub]:
    async with SmtpRelay() as relay:
        running = await start_hub(mail_settings(backend_urls, relay))
        yield running
        await stop_hub(running)


async def test_a_mail_shows_its_subject_above_its_text(mail_hub: RunningHub, page: Page) -> None:
    olga = await make_api(mail_hub, "olga@shop.test", "Olga")
    await deliver(mail_hub, mail(text="The lid is cracked.", subject="Broken <kettle> lid"))
    [stored] = await eventually(lambda: messages_of(mail_hub.hub, channel="email"))
    await operator_reply(mail_hub, stored.conversation_id, "We will send a new one.")

    await sign_in(page, mail_hub, olga.email)
    await page.goto(f"{mail_hub.url}/inbox/conversations/{stored.conversation_id}")
    theirs = page.locator(f'[data-message-id="{stored.id}"]')
    await expect(theirs.locator("[data-subject]")).to_have_text("Subject: Broken <kettle> lid")
    await expect(theirs.locator("[data-text]")).to_have_text("The lid is cracked.")
    ours = page.locator('[data-sender="operator"]')
    await expect(ours).to_contain_text("We will send a new one.")
    await expect(ours.locator("[data-subject]")).to_have_count(0)


TOKYO = ZoneInfo("Asia/Tokyo")


async def snoozed_until(hub: RunningHub, conversation_id: int) -> datetime | None:
    async with hub.hub.db.session() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found.snooze_until if found.status == "snoozed" else None


def tokyo_morning(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), tzinfo=TOKYO).astimezone(UTC)


async def test_snooze_presets_are_read_in_the_operators_time_zone(
    hub: RunningHub, anna: Api, browser: Browser
) -> None:
    written = await customer_writes(hub, 7621, "Call me back tomorrow")
    viewport = {"width": 1280, "height": 800}
    async with watched_page(browser, viewport=viewport, timezone_id="Asia/Tokyo") as page:
        await sign_in(page, hub, anna.email)
        await page.goto(f"{hub.url}/inbox/conversations/{written.conversation_id}")
        today = datetime.now(TOKYO).date()

        await page.locator('[data-preset="tomorrow"]').click()
        tomorrow = tokyo_morning(today + timedelta(days=1))
        assert await eventually(lambda: snoozed_until(hub, written.conversation_id)) == tomorrow

        await page.locator("[data-reopen]").click()
        await expect(page.locator('[data-preset="next_week"]')).to_be_visible()
        await page.locator('[data-preset="next_week"]').click()
        monday = tokyo_morning(today + timedelta(days=7 - today.weekday()))

        async def next_monday() -> bool:
            return await snoozed_until(hub, written.conversation_id) == monday

        await eventually(next_monday, what="snoozed until next Monday 9:00 in Tokyo")
        assert monday.astimezone(TOKYO).weekday() == 0

        await page.locator("[data-reopen]").click()
        await page.locator('[data-preset="1h"]').click()
        started = datetime.now(UTC)
        until = await eventually(lambda: snoozed_until(hub, written.conversation_id))
        assert timedelta(minutes=59) < until - started < timedelta(minutes=61)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
async def test_a_past_snooze_time_says_so_without_hiding_send(
    hub: RunningHub, anna: Api, browser: Browser, size: tuple[int, int]
) -> None:
    written = await customer_writes(hub, 7622, "Snooze me into the past")
    viewport = {"width": size[0], "height": size[1]}
    async with watched_page(browser, viewport=viewport) as page:
        await sign_in(page, hub, anna.email)
        await page.goto(f"{hub.url}/inbox/conversations/{written.conversation_id}")
        await page.locator('[data-snooze] input[name="snooze_until"]').fill("2001-01-01T10:00")
        await page.locator("[data-snooze-picked]").click()
        error = page.locator("[data-head-error]")
        await expect(error).to_have_text("Snooze until a time in the future.")
        await expect(error).to_be_in_viewport()
        await expect(page.locator("[data-reply] [data-form-error]")).to_have_text("")
        for button in ("[data-send]", "[data-note]"):
            control = page.locator(button)
            await expect(control).to_be_in_viewport()
            # Nothing lies over it: the point at its centre is the button itself.
            on_top = await control.evaluate(
                """(el) => { const b = el.getBoundingClientRect();
                  return el.contains(document.elementFromPoint(b.x + b.width / 2,
                                                               b.y + b.height / 2)); }"""
            )
            assert on_top, button


async def test_a_canned_response_goes_in_anywhere_with_its_variables_filled(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    written = await customer_writes(
        hub, 7631, "Where is my order?", first_name="Maria", last_name="Lopez"
    )
    await anna.ok(
        "PUT",
        "/orders/A-77",
        {"customer": {"telegram_id": "7631"}, "status": "in_transit"},
        status=201,
    )
    async with hub.hub.db.session() as session:
        await do_create_canned(
            session,
            "status",
            "{{customer.first_name}}, order {{ order.number }} is {{order.status}}. "
            "{{operator.name}} {{customer.shoe_size}}",
        )
        await session.commit()

    await sign_in(page, hub, anna.email)
    await page.goto(f"{hub.url}/inbox/conversations/{written.conversation_id}")
    box = page.locator("[data-reply] textarea[name=text]")
    await box.fill("Hi! Good news: ")
    await box.press("End")
    await box.press_sequentially("/sta")
    option = page.locator('[data-canned-list] button[data-shortcut="status"]')
    await expect(option).to_be_visible()
    await option.click()
    expected = "Maria, order A-77 is in transit. Anna {{customer.shoe_size}}"
    await expect(box).to_have_value(f"Hi! Good news: {expected}")
    await box.press_sequentially(" Bye")  # the cursor is after the inserted text
    await expect(box).to_have_value(f"Hi! Good news: {expected} Bye")
    await box.press("Control+Enter")
    sent = page.locator('[data-sender="operator"] [data-text]')
    await expect(sent).to_have_text(f"Hi! Good news: {expected} Bye")


async def test_the_hubs_own_notice_does_not_turn_a_conversation_unread(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    written = await customer_writes(hub, 7651, "Tell me when it ships")
    order = {"customer": {"telegram_id": "7651"}, "status": "processing"}
    await anna.ok("PUT", "/orders/C-1", order, status=201)
    await sign_in(page, hub, anna.email)
    row = page.locator(f'.row[data-conversation-id="{written.conversation_id}"]')
    await expect(row).to_have_class(re.compile(r"\bunread\b"))
    await page.goto(f"{hub.url}/inbox/conversations/{written.conversation_id}")
    await page.goto(f"{hub.url}/inbox")
    await expect(page.locator("[data-live-state]")).to_have_text("live")
    await expect(row).not_to_have_class(re.compile(r"\bunread\b"))

    await anna.ok("PUT", "/orders/C-1", {**order, "status": "shipped", "notify": True})

    async def noticed() -> bool:
        found = await messages_of(hub.hub, conversation_id=written.conversation_id)
        return any(m.sender_type == "system" and "C-1" in m.text for m in found)

    await eventually(noticed, what="the shipping notice in the thread")
    await page.reload()
    await expect(page.locator("[data-live-state]")).to_have_text("live")
    await expect(row.locator("[data-last]")).to_contain_text("C-1")  # the notice is the latest
    await expect(row).not_to_have_class(re.compile(r"\bunread\b"))
    # A customer's message still does.
    await customer_writes(hub, 7651, "Great, thanks")
    await expect(row).to_have_class(re.compile(r"\bunread\b"))
