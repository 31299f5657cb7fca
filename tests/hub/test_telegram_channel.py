"""Telegram end to end: real webhook endpoint, the router, and the fake Bot API over HTTP."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

from sqlalchemy import select

from adapters.telegram import TelegramSender
from hub.intake.telegram_polling import OFFSET_KEY, TelegramPolling
from hub.models import HubSetting, Message
from tests.factories import count, customer_of, messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually, operator_reply


async def test_a_private_message_lands_in_the_customers_thread(hub: RunningHub) -> None:
    assert await hub.post_telegram(telegram_update(777, "где мой заказ 1042?")) == 200
    stored = await eventually(lambda: messages_of(hub.hub, channel="telegram"), what="routing")
    assert [m.text for m in stored] == ["где мой заказ 1042?"]
    customer = await customer_of(hub.hub, "telegram", "777")
    assert customer is not None and customer.name == "Ivan Petrov" and customer.locale == "ru"
    assert stored[0].external_id is not None and stored[0].direction == "inbound"


async def test_a_provider_retry_is_answered_alike_and_stored_once(hub: RunningHub) -> None:
    update = telegram_update(778, "retry me")
    statuses = await asyncio.gather(*(hub.post_telegram(update) for _ in range(5)))
    assert statuses == [200] * 5
    await eventually(lambda: messages_of(hub.hub, channel="telegram"), what="routing")
    assert await hub.post_telegram(update) == 200  # after routing, too
    await eventually(lambda: _queue_empty(hub), what="queue drained")
    assert len(await messages_of(hub.hub, channel="telegram")) == 1


async def _queue_empty(hub: RunningHub) -> bool:
    return await hub.hub.queue.depth("inbound") == 0


async def test_wrong_secret_is_refused_and_nothing_stored(hub: RunningHub) -> None:
    assert await hub.post_telegram(telegram_update(779), secret="wrong") == 403
    async with hub.http.post(f"{hub.url}/webhooks/telegram", json=telegram_update(779)) as response:
        assert response.status == 403
    assert await hub.hub.queue.depth("inbound") == 0
    assert await count(hub.hub, Message) == 0


async def test_malformed_and_oversized_bodies_get_a_clear_4xx(hub: RunningHub) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "test-secret"}
    url = f"{hub.url}/webhooks/telegram"
    cases = [
        (b"{not json", 400),
        (b"\xff\xfe\x00", 400),
        (b"[1, 2]", 400),
        (b'{"message": {}}', 400),
        (b"x" * (1024 * 1024 + 10), 413),
    ]
    for body, expected in cases:
        async with hub.http.post(url, data=io.BytesIO(body), headers=headers) as response:
            assert response.status == expected, body[:20]
            if expected == 400:
                assert (await response.json())["error"]["code"] == "bad_request"
    assert await hub.hub.queue.depth("inbound") == 0
    assert await count(hub.hub, Message) == 0


async def test_updates_that_are_not_private_messages_are_acknowledged_not_stored(
    hub: RunningHub,
) -> None:
    group = telegram_update(780, "hi all", chat_type="group")
    reaction = {"update_id": 99_001, "message_reaction": {"chat": {"id": 1}}}
    unknown = {"update_id": 99_002, "brand_new_update_kind": {"x": 1}}
    for update in (group, reaction, unknown):
        assert await hub.post_telegram(update) == 200
    assert await hub.hub.queue.depth("inbound") == 0
    assert await count(hub.hub, Message) == 0


async def test_caption_is_the_text_and_text_is_kept_exactly(hub: RunningHub) -> None:
    odd = "e\u0301 <b>not bold</b> " + "я" * 5000
    await hub.post_telegram(telegram_update(781, odd))
    await hub.post_telegram(telegram_update(781, None, caption="photo caption", photo=[]))
    stored = await eventually(lambda: _n_messages(hub, 2), what="two messages routed")
    assert [m.text for m in stored] == [odd, "photo caption"]


async def _n_messages(hub: RunningHub, n: int) -> list[Message] | None:
    stored = await messages_of(hub.hub, channel="telegram")
    return stored if len(stored) >= n else None


async def test_operator_reply_leaves_through_telegram_and_long_text_is_split(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    await hub.post_telegram(telegram_update(782, "hi"))
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    long_text = ("word " * 1000).strip()  # 4999 chars: two parts
    message_id = await operator_reply(hub, inbound.conversation_id, long_text)
    await fake_telegram.wait_for_sent(lambda s: s.chat_id == 782 and s.text.startswith("word"))
    sent = await eventually(lambda: _status(hub, message_id, "sent"), what="status sent")
    parts = [s.text for s in fake_telegram.sent if s.chat_id == 782]
    assert len(parts) == 2 and " ".join(p.strip() for p in parts) == long_text
    assert all(len(p) <= 4096 for p in parts)
    assert sent.external_id is not None


async def _status(hub: RunningHub, message_id: int, status: str) -> Message | None:
    async with hub.hub.db.session() as session:
        message = await session.get(Message, message_id)
    return message if message is not None and message.status == status else None


async def test_a_429_is_retried_after_retry_after_and_then_sent(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    await hub.post_telegram(telegram_update(783, "hi"))
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    message_id = await operator_reply(hub, inbound.conversation_id, "after a pause")
    await eventually(lambda: _status(hub, message_id, "sent"), timeout=15, what="sent after 429")
    assert len(fake_telegram.calls_of("sendMessage")) == 2


async def test_a_send_that_keeps_failing_ends_visibly_failed(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    await hub.post_telegram(telegram_update(784, "hi"))
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    fake_telegram.block_chat(784)
    message_id = await operator_reply(hub, inbound.conversation_id, "are you there?")
    failed = await eventually(lambda: _status(hub, message_id, "failed"), what="failed")
    assert failed.error and "blocked" in failed.error


async def test_a_shared_contact_links_the_phone_to_the_customer(hub: RunningHub) -> None:
    contact = {"phone_number": "79161234567", "first_name": "Ivan", "user_id": 785}
    await hub.post_telegram(telegram_update(785, None, contact=contact))
    await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    by_phone = await eventually(lambda: customer_of(hub.hub, "sms", "+79161234567"))
    by_telegram = await customer_of(hub.hub, "telegram", "785")
    assert by_telegram is not None and by_phone.id == by_telegram.id


async def test_someone_elses_contact_card_links_and_merges_nothing(hub: RunningHub) -> None:
    """A card forwarded from another person is not a claim about the sender: shown as text,
    it must never merge the sender into that person's customer (and their orders)."""
    await hub.post_telegram(telegram_update(787, "hello"))
    await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    other = {"phone_number": "+79160000787", "first_name": "Olga", "user_id": 9999}
    await hub.post_telegram(telegram_update(788, "my number"))
    await hub.post_telegram(telegram_update(788, None, contact={**other, "user_id": 788}))
    owner = await eventually(lambda: customer_of(hub.hub, "sms", "+79160000787"))
    await hub.post_telegram(telegram_update(787, None, contact=other))
    card = await eventually(
        lambda: messages_of(
            hub.hub, channel="telegram", address="787", text="\U0001f4c7 Olga, +79160000787"
        )
    )
    sender = await customer_of(hub.hub, "telegram", "787")
    assert sender is not None and sender.id != owner.id
    assert card[0].customer_id == sender.id


async def test_polling_mode_routes_updates_and_keeps_its_offset(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    telegram = hub.hub.channels.telegram
    assert telegram is not None
    hub.hub.tasks.append(
        asyncio.create_task(
            TelegramPolling(hub.hub.db, hub.hub.queue, telegram).run(hub.hub.stopping)
        )
    )
    first = fake_telegram.push_update(telegram_update(786, "polled one"))
    fake_telegram.push_update(telegram_update(786, "polled two"))
    stored = await eventually(lambda: _n_messages(hub, 2), what="polled updates routed")
    assert [m.text for m in stored] == ["polled one", "polled two"]

    async def offset_saved() -> bool:
        async with hub.hub.db.session() as session:
            value = await session.scalar(
                select(HubSetting.value).where(HubSetting.key == OFFSET_KEY)
            )
        return value == str(first + 2)

    await eventually(offset_saved, what="offset stored")


async def test_concurrent_first_calls_share_one_bot(fake_telegram: FakeTelegramAPI) -> None:
    sender = TelegramSender("123:ABC", fake_telegram.base_url)
    try:
        bots = await asyncio.gather(*(sender.bot() for _ in range(5)))
        assert all(b is bots[0] for b in bots)
    finally:
        await sender.close()


_SEND_WITHOUT_AIOGRAM = """
import asyncio, sys
from adapters.telegram import TelegramSender
from hub.domain.messages import OutboundAttachment, OutboundMessage
from hub.domain.types import Channel

async def main() -> None:
    sender = TelegramSender(sys.argv[1], sys.argv[2])
    photo = OutboundAttachment("a.png", "image/png", b"png", "https://hub.example/f/1")
    for files in ((), (photo,)):
        await sender.send(OutboundMessage(
            message_id=1, conversation_id=1, channel=Channel.TELEGRAM, address="7401",
            text="hi <b>&", attachments=files))
    polled, offset = await sender.poll(None, 0, 0.0)
    await sender.close()
    print([m.text for m in polled], offset)
    print(sorted(m for m in sys.modules if m.split(".")[0] == "aiogram"))

asyncio.run(main())
"""


async def test_replies_and_polling_never_load_aiogram(fake_telegram: FakeTelegramAPI) -> None:
    """Importing aiogram takes 2-3 s of CPU holding the GIL (a thread does not help): a
    worker must not pay it on its event loop, so replies and getUpdates go without it. A
    fresh interpreter, as this process may have loaded aiogram for other tests."""
    update_id = fake_telegram.push_update(telegram_update(7401, "polled"))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SEND_WITHOUT_AIOGRAM,
        fake_telegram.token,
        fake_telegram.base_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    assert out.decode().splitlines() == [f"['polled'] {update_id + 1}", "[]"]
    photo, text = fake_telegram.sent[-1], fake_telegram.sent[-2]
    assert (text.method, text.chat_id, text.text) == ("sendMessage", 7401, "hi <b>&")
    assert (photo.method, photo.text) == ("sendPhoto", "hi <b>&")
    assert [(f.filename, f.content) for f in photo.files.values()] == [("a.png", b"png")]
