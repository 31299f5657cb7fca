"""Notice (issue 16): the unread count in the tab title and on the favicon, the optional
tone and desktop notifications, in real headless Chromium at desktop and phone sizes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import RunningHub, eventually, operator_reply
from tests.support.api import Api, customer_writes
from tests.support.browser import sign_in, watched_page

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TITLE = "Inbox · Support hub"

# Each Notification the page constructs is recorded (headless Chromium shows none), and so
# is each permission request, to prove none is made on page load.
RECORD_NOTIFICATIONS = """(() => {
  window.__notices = []; window.__asked = 0; window.__tones = 0;
  const Real = window.Notification;
  if (Real) {
    class Recorded extends Real {
      constructor(title, options) {
        super(title, options);
        window.__notices.push({ title, body: (options || {}).body, tag: (options || {}).tag });
        window.__lastNotice = this;
      }
      static get permission() { return Real.permission; }
      static requestPermission(...args) {
        window.__asked += 1;
        return Real.requestPermission(...args);
      }
    }
    window.Notification = Recorded;
  }
  const Audio = window.AudioContext;
  if (Audio) {
    const make = Audio.prototype.createOscillator;
    Audio.prototype.createOscillator = function () { window.__tones += 1; return make.call(this); };
  }
})();"""


async def notices(page: Page) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.__notices"))


async def expect_count(page: Page, n: int, title: str = TITLE) -> None:
    """The tab title and the favicon badge show `n` unread conversations (none: plain)."""
    icon = page.locator('link[rel="icon"]')
    if n:
        await expect(page).to_have_title(f"({n}) {title}")
        await expect(icon).to_have_attribute("href", re.compile(r"^data:image/png;base64,"))
    else:
        await expect(page).to_have_title(title)
        await expect(icon).to_have_attribute("href", "/static/favicon.svg")


async def test_desktop_notifications_are_asked_for_by_a_button_never_on_load(
    hub: RunningHub, anna: Api, browser: Browser
) -> None:
    async with watched_page(browser, viewport=DESKTOP) as page:
        await page.add_init_script(RECORD_NOTIFICATIONS)
        await sign_in(page, hub, anna.email)
        ask = page.locator("[data-notify-desktop]")
        await expect(ask).to_have_text("Turn on desktop notifications")
        assert await page.evaluate("[window.__asked, Notification.permission]") == [0, "default"]
        await ask.click()
        await eventually(lambda: page.evaluate("window.__asked === 1 || null"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x800", "390x844"])
async def test_new_conversations_and_messages_in_my_threads_notify_me_and_count_in_the_title(
    hub: RunningHub, anna: Api, browser: Browser, viewport: dict[str, int]
) -> None:
    async with watched_page(browser, viewport=viewport, permissions=["notifications"]) as page:
        await page.add_init_script(RECORD_NOTIFICATIONS)
        await sign_in(page, hub, anna.email)
        await expect(page.locator("[data-notify-desktop]")).to_have_attribute("data-state", "on")
        await expect_count(page, 0)

        # A new conversation: notified (whoever it is for) and counted.
        first = await customer_writes(hub, 7301, "Is my kettle shipped?")
        tag = f"hub-conversation-{first.conversation_id}"
        told = await eventually(lambda: notices(page))
        assert [(n["tag"], n["title"].split(" · ")[0]) for n in told] == [(tag, "New conversation")]
        await expect_count(page, 1)

        # Opened (read) and assigned to me, from the list.
        await page.locator(f'.row[data-conversation-id="{first.conversation_id}"] a').click()
        await expect(page.locator("[data-assign-me]")).to_be_visible()
        await page.locator("[data-assign-me]").click()
        await expect(page.locator("[data-assign-me]")).to_have_count(0)
        await page.goto(f"{hub.url}/inbox")
        await expect_count(page, 0)

        # Someone else's new conversation, then its second message (not my thread: counted,
        # not notified twice), then a message in my thread.
        second = await customer_writes(hub, 7302, "Do you sell teapots?")
        await customer_writes(hub, 7302, "Blue ones, ideally")
        await customer_writes(hub, 7301, "Any news about my kettle?")
        mine = f"hub-conversation-{first.conversation_id}"
        theirs = f"hub-conversation-{second.conversation_id}"

        async def both_told() -> list[dict[str, Any]] | None:
            got = await notices(page)
            return got if len(got) >= 2 else None

        told = await eventually(both_told, what="two desktop notifications")
        await expect_count(page, 2)
        # My own reply (and any bot answer) is no news: wait until the list shows it.
        await operator_reply(hub, first.conversation_id, "It left the warehouse today.")
        row = page.locator(f'.row[data-conversation-id="{first.conversation_id}"] [data-last]')
        await expect(row).to_have_text("It left the warehouse today.")
        told = await notices(page)
        assert [(n["tag"], n["title"].split(" · ")[0]) for n in told] == [
            (theirs, "New conversation"),
            (mine, "New message"),
        ]
        assert told[1]["body"] == "Any news about my kettle?"

        # Clicking the notification opens the thread; the count falls as it is read.
        await page.evaluate("window.__lastNotice.dispatchEvent(new Event('click'))")
        await expect(page).to_have_url(f"{hub.url}/inbox/conversations/{first.conversation_id}")
        await expect_count(page, 1, title="Ivan Petrov · Support hub")


async def test_the_tone_is_off_until_switched_on_and_stays_on_in_this_browser(
    hub: RunningHub, anna: Api, browser: Browser
) -> None:
    async with watched_page(browser, viewport=DESKTOP) as page:
        await page.add_init_script(RECORD_NOTIFICATIONS)
        await sign_in(page, hub, anna.email)
        sound = page.locator("[data-notify-sound]")
        await expect(sound).to_have_attribute("aria-pressed", "false")
        await customer_writes(hub, 7311, "Hello?")
        await expect_count(page, 1)
        assert await page.evaluate("window.__tones") == 0  # off by default

        await sound.click()
        await expect(sound).to_have_attribute("aria-pressed", "true")
        await expect(sound).to_have_text("Sound: on")
        assert await page.evaluate("localStorage.getItem('hub.notice.sound')") == "on"
        await page.reload()
        await expect(sound).to_have_attribute("aria-pressed", "true")
        await expect(page.locator("[data-live-state]")).to_have_text("live")
        await customer_writes(hub, 7312, "Anyone there?")
        await eventually(lambda: page.evaluate("window.__tones >= 1 || null"), what="a tone")
