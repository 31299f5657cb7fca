"""Whatever a web chat visitor says about who they are is a claim (SPEC §6): typing someone's
email or phone joins nothing, reveals nothing and receives nothing of theirs; the shop's
identity_hash (proof) does link. End to end through the real webhooks, SMTP, the web chat
socket and the REST API, with the bots on."""

from __future__ import annotations

from typing import Any

from hub.models import Customer
from tests.factories import conversations_of, customer_of, messages_of, telegram_update
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_card
from tests.support.orders import put_order
from tests.support.people import Fakes, MailPerson, PhonePerson, TelegramPerson, settled
from tests.support.webchat_visitor import Visitor

TRACKING = "https://track.example/7351"
# The bot's hint to an anonymous or claimed visitor, in English and in Russian.
SIGN_IN_HINTS = ("sign in on our website", "Войдите в личный кабинет")


async def owner_of(running: RunningHub, channel: str, address: str) -> Customer:
    found = await customer_of(running.hub, channel, address)
    assert found is not None, (channel, address)
    return found


async def said_by_visitor(running: RunningHub, visitor: Visitor, text: str) -> Any:
    [message] = [
        m
        for m in await messages_of(running.hub, channel="webchat", address=visitor.visitor_id)
        if m.text == text
    ]
    return message


async def unresolved(running: RunningHub, customer_id: int) -> list[int]:
    return [
        c.id or 0
        for c in await conversations_of(running.hub, customer_id)
        if c.status != "resolved"
    ]


async def impostor_learns_nothing(
    running: RunningHub, api: Api, victim_id: int, impostor: Visitor, text: str
) -> int:
    """The impostor's words stay theirs; both cards show the suggestion; the answer is the
    sign-in hint. Returns the impostor's customer id."""
    await impostor.say(text)
    await settled(running)
    said = await said_by_visitor(running, impostor, text)
    assert said.customer_id != victim_id
    assert said.conversation_id not in await unresolved(running, victim_id)
    victim_card = await customer_card(api, victim_id)
    impostor_card = await customer_card(api, said.customer_id)
    suggested = {(s["customer_id"], s["owner_id"]) for s in victim_card["suggestions"]}
    assert (said.customer_id, victim_id) in suggested
    assert [s["id"] for s in impostor_card["suggestions"]] == [
        s["id"] for s in victim_card["suggestions"] if s["customer_id"] == said.customer_id
    ]
    assert [i["channel"] for i in impostor_card["identities"]] == ["webchat"]
    assert impostor_card["orders"] == []
    heard = await eventually(lambda: _async(impostor.heard()), what="the bot's answer")
    assert any(hint in said for said in heard for hint in SIGN_IN_HINTS)
    assert not any("7351" in h or "track.example" in h for h in heard), heard
    return int(said.customer_id)


async def _async(value: Any) -> Any:
    return value


async def test_typing_a_customers_email_joins_nothing_and_receives_nothing(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api, closing: list[Any]
) -> None:
    john = MailPerson(every_channel_hub, fakes)
    await put_order(
        api, "7351", {"email": john.email, "name": "John Smith"}, "shipped", tracking_url=TRACKING
    )
    await john.ask("Hello, a question about my delivery")
    await settled(every_channel_hub)
    johns = await owner_of(every_channel_hub, "email", john.email)
    [johns_thread] = await unresolved(every_channel_hub, johns.id or 0)

    impostor = await Visitor(every_channel_hub).open()
    closing.append(impostor)
    await impostor.identify(name="Mallory", email=john.email.upper())
    await impostor_learns_nothing(
        every_channel_hub, api, johns.id or 0, impostor, "where is my order 7351"
    )
    card = await customer_card(api, johns.id or 0)
    assert card["name"] == "John Smith"  # a claimed name never overwrites a name
    assert card["preferred_channel"] == "email"
    assert {(i["channel"], i["verified"]) for i in card["identities"]} == {("email", True)}

    # The order notice and an operator's reply with no channel go to John's own email.
    await put_order(api, "7351", {"email": john.email}, "delivered", notify=True)
    [notice] = await messages_of(every_channel_hub.hub, sender_type="system")
    assert (notice.channel, notice.address, notice.customer_id) == ("email", john.email, johns.id)
    reply = await api.ok(
        "POST", f"/conversations/{johns_thread}/messages", {"text": "On its way!"}, 201
    )
    assert reply["channel"] == "email"
    await settled(every_channel_hub)
    await eventually(lambda: _async(len(john.answers()) >= 2), what="John's two mails")
    assert any("7351" in a for a in john.answers())
    assert not any("7351" in h or "On its way" in h for h in impostor.heard())
    assert await unresolved(every_channel_hub, johns.id or 0) == [johns_thread]


async def test_typing_a_customers_phone_joins_nothing_and_texts_nobody(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api, closing: list[Any]
) -> None:
    anna = PhonePerson(every_channel_hub, fakes, channel="sms")
    await put_order(
        api, "7351", {"phone": anna.phone}, "ready_for_pickup", tracking_url=TRACKING,
        pickup_point="Locker 17",
    )  # fmt: skip
    await anna.ask("hi there")
    await settled(every_channel_hub)
    texted = len(anna.answers())
    annas = await owner_of(every_channel_hub, "sms", anna.phone)

    impostor = await Visitor(every_channel_hub).open()
    closing.append(impostor)
    await impostor.identify(phone=anna.phone)
    await impostor_learns_nothing(
        every_channel_hub, api, annas.id or 0, impostor, "where is my order"
    )
    assert len(anna.answers()) == texted  # nothing went to Anna's phone for the impostor

    await anna.ask("where is my order 7351")  # Anna herself still gets her answer
    [answer] = await eventually(
        lambda: _async(anna.answers()[texted:] or None), what="Anna's answer"
    )
    assert "7351" in answer and "Locker 17" in answer


async def test_typing_both_email_and_phone_joins_nothing(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api, closing: list[Any]
) -> None:
    maria = PhonePerson(every_channel_hub, fakes, channel="whatsapp")
    email = "maria@customer.test"
    await put_order(api, "7351", {"phone": maria.phone, "email": email}, "shipped")
    await maria.ask("hola")
    await settled(every_channel_hub)
    marias = await owner_of(every_channel_hub, "whatsapp", maria.phone)

    impostor = await Visitor(every_channel_hub).open()
    closing.append(impostor)
    await impostor.identify(name="Maria", email=email, phone=maria.phone)
    await impostor_learns_nothing(every_channel_hub, api, marias.id or 0, impostor, "статус заказа")
    card = await customer_card(api, marias.id or 0)
    assert {s["channel"] for s in card["suggestions"]} == {"email", "sms"}


async def test_a_claim_made_first_yields_to_the_phone_that_proves_it(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api, closing: list[Any]
) -> None:
    """A visitor claims a number nobody has yet; its real owner texts later: the number
    becomes the owner's, proven, and the owner's orders never reach the visitor."""
    owner = PhonePerson(every_channel_hub, fakes, channel="sms")
    squatter = await Visitor(every_channel_hub).open()
    closing.append(squatter)
    await squatter.identify(phone=owner.phone)
    await squatter.say("hello")
    await settled(every_channel_hub)
    squatters = (await said_by_visitor(every_channel_hub, squatter, "hello")).customer_id
    card = await customer_card(api, squatters)
    assert ("sms", False) in {(i["channel"], i["verified"]) for i in card["identities"]}

    await owner.ask("hi, it's me")
    await settled(every_channel_hub)
    owners = await owner_of(every_channel_hub, "sms", owner.phone)
    assert owners.id != squatters
    await put_order(api, "7351", {"phone": owner.phone}, "shipped", tracking_url=TRACKING)
    owner_card = await customer_card(api, owners.id or 0)
    assert [o["number"] for o in owner_card["orders"]] == ["7351"]
    assert {("sms", True), ("whatsapp", True)} <= {
        (i["channel"], i["verified"]) for i in owner_card["identities"]
    }
    assert [s["customer_id"] for s in owner_card["suggestions"]] == [squatters]
    await impostor_learns_nothing(
        every_channel_hub, api, owners.id or 0, squatter, "where is my order"
    )


async def test_a_valid_identity_hash_links_into_the_one_thread(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api, closing: list[Any]
) -> None:
    john = MailPerson(every_channel_hub, fakes)
    await put_order(api, "7351", {"email": john.email}, "shipped", tracking_url=TRACKING)
    await john.ask("Hello from my mailbox")
    await settled(every_channel_hub)
    johns = await owner_of(every_channel_hub, "email", john.email)
    [thread] = await unresolved(every_channel_hub, johns.id or 0)

    visitor = await Visitor(every_channel_hub).open()
    closing.append(visitor)
    await visitor.say("hello from the site")  # a customer of their own until proven
    # Routed and answered before the proof: a worker running late would route it into
    # John's thread instead, as his second unanswered turn in a row, and hand off.
    await settled(every_channel_hub)
    await visitor.identify(email=john.email, proven=True)
    await visitor.say("where is my order 7351")
    await settled(every_channel_hub)
    said = await said_by_visitor(every_channel_hub, visitor, "where is my order 7351")
    assert said.customer_id == johns.id and said.conversation_id == thread
    assert await unresolved(every_channel_hub, johns.id or 0) == [thread]
    # The bots may have said something to "hello from the site" first: wait for the answer.
    heard = await eventually(
        lambda: _async([t for t in visitor.heard() if "7351" in t]), what="the status answer"
    )
    assert TRACKING in heard[-1]
    history = [m["text"] for m in visitor.welcome()["history"]]
    assert "Hello from my mailbox" in history  # proof shows the whole thread


async def test_the_reply_box_and_the_hub_never_pick_a_claimed_address(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api, closing: list[Any]
) -> None:
    visitor = await Visitor(every_channel_hub).open()
    closing.append(visitor)
    await visitor.identify(email="nobody-yet@customer.test")
    await visitor.say("please write me back")
    await settled(every_channel_hub)
    said = await said_by_visitor(every_channel_hub, visitor, "please write me back")
    card = await customer_card(api, said.customer_id)
    assert ("email", False) in {(i["channel"], i["verified"]) for i in card["identities"]}
    assert card["preferred_channel"] == "webchat"

    default = await api.ok(
        "POST", f"/conversations/{said.conversation_id}/messages", {"text": "Hi!"}, 201
    )
    assert default["channel"] == "webchat"
    picked = await api.ok(
        "POST",
        f"/conversations/{said.conversation_id}/messages",
        {"text": "By mail", "channel": "email"},
        201,
    )
    assert picked["channel"] == "email"  # an operator may pick it by hand


async def test_a_telegram_user_sharing_their_own_phone_is_answered_from_its_orders(
    every_channel_hub: RunningHub, fakes: Fakes, api: Api
) -> None:
    ivan = TelegramPerson(every_channel_hub, fakes)
    phone = "+14155550199"
    await put_order(api, "7351", {"phone": phone}, "in_transit", tracking_url=TRACKING)
    await ivan.ask("where is my order?")
    [hint] = await eventually(lambda: _async(ivan.answers() or None), what="the hint")
    assert "Share your phone number" in hint
    contact = {"phone_number": phone, "user_id": ivan.user_id, "first_name": "Ivan"}
    update = telegram_update(ivan.user_id, None, contact=contact, language_code="en")
    assert await every_channel_hub.post_telegram(update) == 200
    await settled(every_channel_hub)
    [_, answer] = await eventually(
        lambda: _async(ivan.answers() if len(ivan.answers()) >= 2 else None), what="answer"
    )
    assert "7351" in answer and TRACKING in answer
    ivans = await owner_of(every_channel_hub, "telegram", str(ivan.user_id))
    [thread] = await unresolved(every_channel_hub, ivans.id or 0)
    conversation = await api.get(f"/conversations/{thread}")
    assert conversation["bot_active"] is True  # answered, not handed off


async def test_a_visitor_who_saved_their_details_is_remembered_on_reload(
    every_channel_hub: RunningHub, closing: list[Any]
) -> None:
    visitor = await Visitor(every_channel_hub).open()
    closing.append(visitor)
    await visitor.identify(name="Lena", email="lena@customer.test")
    await visitor.say("hello")
    await visitor.close()
    again = await Visitor(every_channel_hub, token=visitor.token).open()
    closing.append(again)
    assert again.welcome()["details"] == {"name": "Lena", "email": "lena@customer.test"}
