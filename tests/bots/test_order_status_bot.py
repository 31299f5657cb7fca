"""The order-status bot end to end: Telegram webhook → router → bot → fake Bot API."""

from __future__ import annotations

from hub.models import Message
from tests.factories import messages_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes
from tests.support.orders import bot_answer, put_order, sent_to
from tests.support.people import settled

TRACKING = "https://track.example/1042?lang=ru&x=1"


async def bot_messages(running: RunningHub, conversation_id: int) -> list[Message]:
    return [
        m
        for m in await messages_of(running.hub, conversation_id=conversation_id)
        if m.sender_type == "bot"
    ]


async def test_the_owner_asking_gets_the_status_number_and_tracking_link(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "1042", 9001, "processing")
    await put_order(api, "1042", 9001, "shipped", tracking_url=TRACKING)
    asked = await customer_writes(hub, 9001, "где мой заказ 1042", language_code="ru")
    answer = await bot_answer(fake_telegram, 9001)
    assert "1042" in (answer.text or "") and "отправлен" in (answer.text or "")
    assert TRACKING in (answer.text or "")
    thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
    bot = [m for m in thread["items"] if m["sender_type"] == "bot"]
    public = [m for m in bot if not m["private"]]
    notes = [m for m in bot if m["private"]]
    assert [m["text"] for m in public] == [answer.text]
    assert notes and "1042" in notes[0]["text"] and "order_status" in notes[0]["text"]
    assert len(sent_to(fake_telegram, 9001)) == 1  # the note never leaves the hub


async def test_english_without_a_number_answers_the_latest_open_order(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "2001", 9002, "delivered")
    await put_order(api, "2002", 9002, "in_transit", tracking_url="https://t.example/2002")
    await customer_writes(hub, 9002, "has my parcel shipped", language_code="en")
    text = (await bot_answer(fake_telegram, 9002)).text or ""
    assert "2002" in text and "in transit" in text and "https://t.example/2002" in text
    assert "2001" not in text


async def test_several_open_orders_are_listed_with_their_tracking_links(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "3001", 9003, "processing")
    await put_order(api, "3002", 9003, "shipped", tracking_url="https://t.example/3002")
    await customer_writes(hub, 9003, "when will my order arrive?", language_code="en")
    text = (await bot_answer(fake_telegram, 9003)).text or ""
    assert "3001" in text and "3002" in text and "https://t.example/3002" in text
    assert "being prepared" in text and "shipped" in text
    await customer_writes(hub, 9003, "3002")  # picking one from the list
    picked = (await bot_answer(fake_telegram, 9003, after=1)).text or ""
    assert "3002" in picked and "3001" not in picked


async def test_a_stranger_asking_for_someone_elses_order_learns_nothing(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "1042", 9001, "shipped", tracking_url=TRACKING)
    await customer_writes(hub, 9099, "где мой заказ 1042", language_code="ru")
    foreign = (await bot_answer(fake_telegram, 9099)).text or ""
    await customer_writes(hub, 9097, "где мой заказ 5555", language_code="ru")
    missing = (await bot_answer(fake_telegram, 9097)).text or ""
    assert foreign.replace("1042", "N") == missing.replace("5555", "N")
    assert TRACKING not in foreign and "отправлен" not in foreign


async def test_a_question_about_an_order_that_is_not_about_its_status_gets_no_status(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "4001", 9004, "shipped", tracking_url="https://t.example/4001")
    await customer_writes(hub, 9004, "хочу вернуть деньги за заказ 4001", language_code="ru")
    text = (await bot_answer(fake_telegram, 9004)).text or ""
    assert "https://t.example/4001" not in text and "отправлен" not in text


async def test_asking_for_a_person_hands_off_and_silences_the_bot(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "5001", 9005, "shipped")
    asked = await customer_writes(hub, 9005, "позовите оператора", language_code="ru")
    handoff = (await bot_answer(fake_telegram, 9005)).text or ""
    assert "сотрудник" in handoff or "человек" in handoff
    conversation = await api.get(f"/conversations/{asked.conversation_id}")
    assert conversation["bot_active"] is False
    assert conversation["status"] == "open" and conversation["assignee_id"] is None
    await settled(hub)
    before = len(await bot_messages(hub, asked.conversation_id))
    await customer_writes(hub, 9005, "где мой заказ 5001")
    await settled(hub)  # the inbound job is acked only once the bots are done with it
    assert len(await bot_messages(hub, asked.conversation_id)) == before
    assert len(sent_to(fake_telegram, 9005)) == 1


async def test_two_turns_it_cannot_answer_hand_the_conversation_off(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    asked = await customer_writes(hub, 9006, "what colour is the sky", language_code="en")
    await bot_answer(fake_telegram, 9006)
    await customer_writes(hub, 9006, "blue or green?")
    second = (await bot_answer(fake_telegram, 9006, after=1)).text or ""
    assert "person" in second
    conversation = await api.get(f"/conversations/{asked.conversation_id}")
    assert conversation["bot_active"] is False


async def test_an_operator_reply_takes_over_and_resolving_gives_it_back(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await put_order(api, "6001", 9007, "ready_for_pickup", tracking_url="https://t.example/6001")
    asked = await customer_writes(hub, 9007, "hello", language_code="en")
    await bot_answer(fake_telegram, 9007)  # the bot did not understand a greeting
    cid = asked.conversation_id
    await api.ok("POST", f"/conversations/{cid}/messages", {"text": "Hi, Anna here"}, status=201)
    assert (await api.get(f"/conversations/{cid}"))["bot_active"] is False
    await customer_writes(hub, 9007, "where is my order 6001")
    await settled(hub)
    assert len(await bot_messages(hub, cid)) == 2  # the not-understood answer and its note
    await api.ok("POST", f"/conversations/{cid}/status", {"status": "resolved"})
    again = await customer_writes(hub, 9007, "where is my order 6001?")
    assert again.conversation_id != cid
    answers = await eventually(lambda: _public_bot(hub, again.conversation_id), what="bot answer")
    assert "6001" in answers[0].text and "ready for pickup" in answers[0].text


async def _public_bot(running: RunningHub, conversation_id: int) -> list[Message]:
    return [m for m in await bot_messages(running, conversation_id) if not m.private]
