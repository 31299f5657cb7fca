"""What the operators see of a web chat visitor's identify: the address a valid
identity_hash proves is proven on the customer card; a bare claim stays "claimed"."""

from __future__ import annotations

import hashlib
import hmac
import re

from hub.models import Identity
from tests.factories import customer_of, messages_of, telegram_update
from tests.support import RunningHub, eventually
from tests.support.api import Browser
from tests.support.webchat import open_chat, receive

SECRET = b"shop-hmac-secret"  # the `settings` fixture's HUB_WEBCHAT_HMAC_SECRET


def proof(claimed: str) -> str:
    return hmac.new(SECRET, claimed.encode(), hashlib.sha256).hexdigest()


async def identify_and_write(hub: RunningHub, frame: dict[str, str], text: str) -> int:
    """A new visitor identifies, then writes; the id of their conversation."""
    ws, _ = await open_chat(hub)
    await ws.send_json({"type": "identify", **frame})
    await ws.send_json({"type": "message", "text": text, "client_id": "c"})
    await receive(ws, "ack")
    await ws.close()
    [stored] = [m for m in await messages_of(hub.hub, channel="webchat") if m.text == text]
    return stored.conversation_id


async def card_identities(agent: Browser, conversation_id: int) -> dict[str, bool]:
    """Address -> shown verified, from the inbox's customer card."""
    status, html, _ = await agent.get(f"/inbox/conversations/{conversation_id}/parts/card")
    assert status == 200, html[:300]
    items = re.findall(r'<li data-identity data-proof="(\w+)">(.*?)</li>', html, re.DOTALL)
    found: dict[str, bool] = {}
    for proof, item in items:
        address = re.sub(r"<[^>]+>", " ", item).split()[1]
        found[address] = proof == "proven"
    return found


async def identity(hub: RunningHub, channel: str, address: str) -> Identity:
    from sqlalchemy import select

    async with hub.hub.db.session() as session:
        row = await session.scalar(
            select(Identity).where(Identity.channel == channel, Identity.address == address)
        )
    assert row is not None
    return row


async def test_a_valid_identity_hash_marks_the_proven_email_verified(
    hub: RunningHub, agent: Browser
) -> None:
    signed = await identify_and_write(
        hub,
        {
            "email": "anna@shop.test",
            "phone": "+79160000001",
            "identity_hash": proof("anna@shop.test"),
        },
        "signed in",
    )
    card = await card_identities(agent, signed)
    assert card["anna@shop.test"] is True
    assert card["+79160000001"] is False  # the hash was made over the email only
    assert (await identity(hub, "email", "anna@shop.test")).verified

    bare = await identify_and_write(hub, {"email": "boris@shop.test"}, "just a claim")
    card = await card_identities(agent, bare)
    assert card["boris@shop.test"] is False
    # The visitor's own web chat identity is the hub's signed id: never "unverified".
    [(_, visitor_shown_verified)] = [(a, ok) for a, ok in card.items() if a.startswith("v_")]
    assert visitor_shown_verified

    forged = await identify_and_write(
        hub, {"email": "carl@shop.test", "identity_hash": proof("someone@else.test")}, "forged"
    )
    assert (await card_identities(agent, forged))["carl@shop.test"] is False


async def test_a_valid_identity_hash_verifies_a_phone_the_customer_had_as_a_claim(
    hub: RunningHub, agent: Browser
) -> None:
    """Linked unverified earlier (a bare claim), proven later: the card then says so."""
    await identify_and_write(hub, {"phone": "+79160000002"}, "first, unproven")
    assert not (await identity(hub, "sms", "+79160000002")).verified
    proven = await identify_and_write(
        hub, {"phone": "+79160000002", "identity_hash": proof("+79160000002")}, "now signed in"
    )
    assert (await card_identities(agent, proven))["+79160000002"] is True


async def test_a_telegram_customer_proving_their_phone_on_the_site_keeps_it_verified(
    hub: RunningHub, agent: Browser
) -> None:
    contact = {"phone_number": "+79160000003", "user_id": 903, "first_name": "Vera"}
    await hub.post_telegram(telegram_update(903, "hello"))
    await hub.post_telegram(telegram_update(903, None, contact=contact))
    await eventually(lambda: customer_of(hub.hub, "sms", "+79160000003"))
    proven = await identify_and_write(
        hub, {"phone": "+79160000003", "identity_hash": proof("+79160000003")}, "from the site"
    )
    card = await card_identities(agent, proven)
    assert card["+79160000003"] is True and card["903"] is True
