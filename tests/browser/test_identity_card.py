"""The customer card in real Chromium: proven and claimed identities are told apart, a claim
on someone else's address shows as a suggested merge on both cards (never a merge), and an
operator confirms a claim or dismisses the suggestion; the reply box never defaults to a
claimed address."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.factories import messages_of
from tests.support import RunningHub
from tests.support.api import Api, customer_writes
from tests.support.browser import sign_in
from tests.support.webchat_visitor import Visitor


async def test_the_card_marks_proof_and_claims_and_an_operator_decides(
    hub: RunningHub, anna: Api, page: Page
) -> None:
    owner = await customer_writes(hub, 7301, "I ordered a lamp", first_name="Olga")
    await anna.ok(
        "PUT", "/orders/L-1", {"customer": {"telegram_id": 7301, "email": "olga@customer.test"},
                               "status": "shipped"}, 201,
    )  # fmt: skip
    visitor = await Visitor(hub).open()
    try:
        await visitor.identify(name="Not Olga", email="olga@customer.test", phone="+14155550177")
        await visitor.say("hi, it's Olga (really)")
    finally:
        await visitor.close()
    [said] = await messages_of(hub.hub, channel="webchat")
    assert said.customer_id != owner.customer_id

    await sign_in(page, hub, anna.email)
    await page.goto(f"{hub.url}/inbox/conversations/{owner.conversation_id}")
    card = page.locator(".card[data-customer-id]")
    await expect(card.locator('[data-identity][data-proof="proven"]')).to_have_count(2)
    await expect(card.locator('[data-identity][data-proof="claimed"]')).to_have_count(0)
    await expect(card.locator("[data-customer-name]")).to_have_text("Olga Petrov")
    suggestion = card.locator("[data-suggestion]")
    await expect(suggestion).to_contain_text("Not Olga claimed olga@customer.test in web chat")
    await expect(suggestion.locator("[data-review-merge]")).to_be_visible()

    await page.goto(f"{hub.url}/inbox/conversations/{said.conversation_id}")
    claimed = card.locator('[data-identity][data-proof="claimed"]')
    await expect(claimed).to_have_count(1)
    await expect(claimed).to_contain_text("+14155550177")
    await expect(claimed).to_contain_text("claimed, unverified")
    await expect(card.locator("[data-suggestion]")).to_contain_text(
        "Claimed here in web chat: olga@customer.test, which Olga Petrov has"
    )
    channel = page.locator("select[data-channel]")
    await expect(channel).to_have_value("webchat")  # never the claimed SMS number
    await expect(channel.locator("option[data-claimed]")).to_have_attribute("value", "sms")

    await card.locator("[data-suggestion] button").click()  # not the same person
    await expect(card.locator("[data-suggestion]")).to_have_count(0)
    await claimed.locator("[data-confirm-identity] button").click()
    await expect(card.locator('[data-identity][data-proof="claimed"]')).to_have_count(0)
    await expect(card.locator('[data-identity][data-proof="proven"]')).to_have_count(2)
    await card.locator("[data-timeline] summary").click()
    timeline = card.locator("[data-timeline] li")
    await expect(timeline.filter(has_text="confirmed by an operator")).to_contain_text("Anna")
    await expect(timeline.filter(has_text="suggestion dismissed")).to_have_count(1)

    await page.goto(f"{hub.url}/inbox/conversations/{owner.conversation_id}")
    await expect(card.locator("[data-suggestion]")).to_have_count(0)
