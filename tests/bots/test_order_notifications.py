"""Order-status notifications: PUT /orders/{number} with notify, on the right channel."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.actions.channel_state import window_open
from hub.actions.notifications import Reach, Route, choose_route, do_notify_order_status
from hub.domain.types import Channel
from hub.models import Conversation, Customer, Identity, Message, Order
from hub.models.base import utcnow
from tests.factories import messages_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes
from tests.support.orders import put_order, sent_to
from tests.support.people import settled

WA, TG, SMS, EMAIL = Channel.WHATSAPP, Channel.TELEGRAM, Channel.SMS, Channel.EMAIL
ALL = {WA, TG, SMS, EMAIL, Channel.WEBCHAT}


async def _system_messages(running: RunningHub, text_part: str) -> list[Message]:
    return [m for m in await messages_of(running.hub, sender_type="system") if text_part in m.text]


async def test_a_status_change_with_notify_tells_the_customer_where_they_last_wrote(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "7001", 9101, "processing")  # no notify: nobody is told
    asked = await customer_writes(hub, 9101, "hello", language_code="en")
    await fake_telegram.wait_for_sent(lambda s: s.chat_id == 9101)  # the bot's answer
    told_before = len(sent_to(fake_telegram, 9101))
    await put_order(
        api, "7001", 9101, "shipped", tracking_url="https://t.example/7001", notify=True
    )
    sent = await fake_telegram.wait_for_sent(
        lambda s: s.chat_id == 9101 and "7001" in (s.text or "")
    )
    assert "shipped" in (sent.text or "") and "https://t.example/7001" in (sent.text or "")
    [system] = await _system_messages(hub, "7001")
    assert system.conversation_id == asked.conversation_id and system.channel == "telegram"
    thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
    assert any(m["sender_type"] == "system" and "7001" in m["text"] for m in thread["items"])
    assert len(sent_to(fake_telegram, 9101)) == told_before + 1


async def test_the_same_status_is_never_sent_twice_and_no_notify_sends_nothing(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "7002", 9102, "processing")
    await put_order(api, "7002", 9102, "shipped", notify=True)
    await put_order(api, "7002", 9102, "shipped", notify=True)  # no change
    await put_order(api, "7002", 9102, "in_transit")  # a change without notify
    await put_order(api, "7002", 9102, "shipped", notify=True)  # shipped again
    await put_order(api, "7002", 9102, "delivered", notify=True)
    await eventually(lambda: _system_messages(hub, "delivered"), what="the delivered notice")
    texts = [m.text for m in await messages_of(hub.hub, sender_type="system")]
    assert len(texts) == 2 and "shipped" in texts[0] and "delivered" in texts[1]
    await fake_telegram.wait_for_sent(lambda s: s.chat_id == 9102 and "delivered" in s.text)
    assert len(sent_to(fake_telegram, 9102)) == 2


async def test_the_answer_says_what_was_queued_where_or_why_not(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    queued = {"queued": True, "channel": "telegram", "reason": None}
    new = await put_order(api, "7010", 9110, "processing", notify=True)
    assert new["notification"] == queued  # a new order's first status is told too
    sent = await fake_telegram.wait_for_sent(lambda s: s.chat_id == 9110)
    assert "7010" in (sent.text or "")
    [notice] = await _system_messages(hub, "7010")
    conversation = await api.get(f"/conversations/{notice.conversation_id}")
    assert conversation["status"] == "resolved"  # a notice alone is nothing to do

    same = await put_order(api, "7010", 9110, "processing", notify=True, total="5")
    assert same["notification"] == {"queued": False, "channel": None, "reason": "same_status"}
    assert (await put_order(api, "7010", 9110, "shipped", notify=True))["notification"] == queued
    await put_order(api, "7010", 9110, "in_transit")
    again = await put_order(api, "7010", 9110, "shipped", notify=True)
    assert again["notification"] == {
        "queued": False,
        "channel": None,
        "reason": "already_notified",
    }
    assert (await put_order(api, "7010", 9110, "delivered"))["notification"] is None

    # Only an email address, and this hub sends no email: nothing can carry the notice.
    mail_only = {"email": "nobody@shop.test", "name": "Mail"}
    unreachable = await put_order(api, "7011", mail_only, "processing", notify=True)
    assert unreachable["notification"] == {
        "queued": False,
        "channel": None,
        "reason": "no_reachable_channel",
    }
    await eventually(lambda: _system_messages(hub, "7010"), what="the notices")
    await settled(hub)
    assert [m.text for m in await _system_messages(hub, "7011")] == []
    told = [t for t in sent_to(fake_telegram, 9110) if "7010" in t]
    assert len(told) == 2 and "shipped" in told[1]  # processing, shipped: each once
    assert (await api.get("/orders/7010"))["status"] == "delivered"
    assert "notification" not in await api.get("/orders/7010")


async def test_a_notification_is_written_in_the_customers_language(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "7003", 9103, "processing")
    await customer_writes(hub, 9103, "привет", language_code="ru")
    await put_order(api, "7003", 9103, "ready_for_pickup", notify=True)
    sent = await fake_telegram.wait_for_sent(lambda s: s.chat_id == 9103 and "7003" in s.text)
    assert "пункте выдачи" in (sent.text or "")
    await put_order(api, "7003", 9103, "lost_in_space", notify=True)  # the shop's own status
    other = await fake_telegram.wait_for_sent(lambda s: "lost_in_space" in (s.text or ""))
    assert "7003" in (other.text or "")


def test_whatsapp_window_is_24_hours_from_the_last_customer_message() -> None:
    now = utcnow()
    assert window_open(now - timedelta(hours=23, minutes=59), now)
    assert not window_open(now - timedelta(hours=24), now)
    assert not window_open(None, now)


def test_route_prefers_the_preferred_channel_then_reachability_order() -> None:
    reach = {c: Reach(c) for c in (TG, SMS, EMAIL)}
    assert choose_route("email", reach, ALL, {}) == Route(EMAIL)
    assert choose_route(None, reach, ALL, {}) == Route(TG)
    assert choose_route(None, reach, {SMS, EMAIL}, {}) == Route(SMS)  # no Telegram sender
    assert choose_route("webchat", reach, ALL, {}) == Route(TG)  # no web chat identity


def test_closed_whatsapp_window_uses_the_template_or_falls_back() -> None:
    reach = {WA: Reach(WA, window_open=False), TG: Reach(TG), SMS: Reach(SMS)}
    assert choose_route("whatsapp", reach, ALL, {}) == Route(TG)
    templates = {"order_status": "HX123"}
    assert choose_route("whatsapp", reach, ALL, templates) == Route(WA, "HX123")
    open_window = {**reach, WA: Reach(WA)}
    assert choose_route("whatsapp", open_window, ALL, templates) == Route(WA)


def test_sms_opt_out_is_respected() -> None:
    reach = {SMS: Reach(SMS, opted_out=True), EMAIL: Reach(EMAIL)}
    assert choose_route("sms", reach, ALL, {}) == Route(EMAIL)
    assert choose_route("sms", {SMS: Reach(SMS, opted_out=True)}, ALL, {}) is None


async def _whatsapp_customer(running: RunningHub, hours_ago: float, n: int) -> Order:
    async with running.hub.db.session() as session:
        customer = Customer(name="Wa", last_inbound_channel="whatsapp")
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        for channel, address in (("whatsapp", f"+1555000{n}"), ("telegram", f"920{n}")):
            session.add(Identity(customer_id=customer.id, channel=channel, address=address))
        conversation = Conversation(customer_id=customer.id, channel="whatsapp")
        session.add(conversation)
        await session.flush()
        assert conversation.id is not None
        session.add(
            Message(
                conversation_id=conversation.id,
                customer_id=customer.id,
                direction="inbound",
                sender_type="customer",
                channel="whatsapp",
                text="hi",
                status="received",
                address=f"+1555000{n}",
                created_at=utcnow() - timedelta(hours=hours_ago),
            )
        )
        order = Order(number=f"W{hours_ago}", customer_id=customer.id, status="shipped")
        session.add(order)
        await session.commit()
        return order


async def test_closed_window_falls_back_to_telegram_or_sends_the_template(
    hub: RunningHub,
) -> None:
    stale = await _whatsapp_customer(hub, hours_ago=30, n=1)
    fresh = await _whatsapp_customer(hub, hours_ago=1, n=2)
    async with hub.hub.db.session() as session:
        enabled = {WA, TG}
        stale_order = await session.get(Order, stale.id)
        fresh_order = await session.get(Order, fresh.id)
        assert stale_order is not None and fresh_order is not None
        assert await do_notify_order_status(
            session, stale_order, enabled=enabled, whatsapp_templates={}
        )
        assert await do_notify_order_status(
            session, fresh_order, enabled=enabled, whatsapp_templates={}
        )
        again = await do_notify_order_status(
            session, stale_order, enabled=enabled, whatsapp_templates={"order_status": "HX9"}
        )
        assert again is None  # this status was told already
        await session.commit()
        sent = list(
            await session.scalars(
                select(Message).where(Message.sender_type == "system").order_by(Message.id)
            )
        )
    assert [(m.channel, m.address) for m in sent] == [
        ("telegram", "9201"),
        ("whatsapp", "+15550002"),
    ]


async def test_closed_window_with_a_template_sends_it_on_whatsapp(hub: RunningHub) -> None:
    stale = await _whatsapp_customer(hub, hours_ago=48, n=3)
    async with hub.hub.db.session() as session:
        order = await session.get(Order, stale.id)
        assert order is not None
        notice = await do_notify_order_status(
            session, order, enabled={WA, TG}, whatsapp_templates={"order_status": "HX9"}
        )
        assert notice is not None and notice.content_sid == "HX9"
        await session.commit()
        [sent] = await session.scalars(select(Message).where(Message.sender_type == "system"))
    assert sent.channel == "whatsapp" and sent.content_sid == "HX9"
