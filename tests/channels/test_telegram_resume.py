"""A reply Telegram gets in several parts (a long text, files) whose later part fails: the
retry resumes after the parts Telegram already accepted, so the customer sees each once."""

from __future__ import annotations

import pytest

from hub.actions.attachments import do_add_outbound_attachment
from hub.actions.replies import do_reply
from hub.actions.unit import commit_and_publish
from hub.domain.types import SenderType
from hub.media.store import media_store
from hub.models import Conversation, Message
from hub.queue.outbound import OutboundJob
from hub.queue.port import Job
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub

LONG_TEXT = " ".join(f"w{n:04d}" for n in range(2000))  # 11,999 chars: three parts


async def _final(hub: RunningHub, message_id: int) -> Message | None:
    async with hub.hub.db.session() as session:
        message = await session.get(Message, message_id)
    return message if message is not None and message.status in ("sent", "failed") else None


async def _conversation(hub: RunningHub, chat: int) -> int:
    assert await hub.post_telegram(telegram_update(chat, "hi")) == 200
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    return inbound.conversation_id


def _to(fake: FakeTelegramAPI, chat: int) -> list[SentMessage]:
    return [s for s in fake.sent if s.chat_id == chat]


@pytest.mark.parametrize("status", [429, 500])
async def test_a_failed_second_part_is_retried_without_sending_the_first_again(
    hub: RunningHub, fake_telegram: FakeTelegramAPI, status: int
) -> None:
    conversation_id = await _conversation(hub, 791)
    fake_telegram.fail_next("sendMessage", status, retry_after=1, after=1)
    message_id = await operator_reply(hub, conversation_id, LONG_TEXT)
    sent = await eventually(lambda: _final(hub, message_id), timeout=20, what="sent")

    parts = _to(fake_telegram, 791)
    assert [p.text for p in parts] == [p.text for p in parts if p.method == "sendMessage"]
    assert len(parts) == 3, [p.text[:10] for p in parts if p.text]
    assert " ".join(p.text.strip() for p in parts if p.text) == LONG_TEXT
    assert [c.status for c in fake_telegram.calls_of("sendMessage")] == [200, status, 200, 200]
    assert sent.status == "sent" and sent.external_id == str(parts[0].message_id)


async def test_a_failed_file_after_the_text_is_retried_alone(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    conversation_id = await _conversation(hub, 792)
    fake_telegram.fail_next("sendDocument", 500)
    message_id = await _reply_with_file(hub, conversation_id, LONG_TEXT, b"%PDF-1.4 receipt")
    sent = await eventually(lambda: _final(hub, message_id), timeout=20, what="sent")

    parts = _to(fake_telegram, 792)
    assert [p.method for p in parts] == ["sendMessage"] * 3 + ["sendDocument"]
    assert len(fake_telegram.calls_of("sendMessage")) == 3
    assert [c.status for c in fake_telegram.calls_of("sendDocument")] == [500, 200]
    assert parts[3].files["document"].content == b"%PDF-1.4 receipt"
    assert sent.status == "sent" and sent.external_id == str(parts[0].message_id)


async def _reply_with_file(
    running: RunningHub, conversation_id: int, text: str, data: bytes
) -> int:
    """An operator's reply with a PDF, stored together and queued once, as the inbox does."""
    hub = running.hub
    key = await media_store(hub.settings).put(data)
    async with hub.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message = await do_reply(session, conversation, text, sender_type=SenderType.OPERATOR)
        assert message.id is not None
        await do_add_outbound_attachment(
            session,
            message.id,
            storage_key=key,
            content_type="application/pdf",
            filename="receipt.pdf",
            size=len(data),
        )
        await commit_and_publish(session, hub.queue, hub.broker)
    return message.id


async def test_the_parts_already_sent_are_remembered_across_a_worker_restart(
    hub: RunningHub, fake_telegram: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = await _conversation(hub, 793)
    fake_telegram.fail_next("sendMessage", 429, retry_after=2, after=1)
    queue = hub.hub.queue
    retries: list[str | None] = []
    store_retry = queue.retry

    async def recorded_retry(
        job: Job, delay: float, error: str, payload: str | None = None
    ) -> None:
        await store_retry(job, delay, error, payload)
        retries.append(payload)

    monkeypatch.setattr(queue, "retry", recorded_retry)
    message_id = await operator_reply(hub, conversation_id, LONG_TEXT)

    async def retry_stored() -> bool:
        return bool(retries)

    # Stopped once the retry with the progress is stored: a stop in between (tasks are
    # cancelled) would resend the first part, the documented at-least-once window.
    await eventually(retry_stored, what="the retry with its progress stored")
    assert [c.status for c in fake_telegram.calls_of("sendMessage")] == [200, 429]
    assert retries[0] is not None and OutboundJob.read(retries[0]).progress
    await stop_hub(hub)
    again = await start_hub(hub.settings)
    try:
        sent = await eventually(lambda: _final(again, message_id), timeout=20, what="sent")
    finally:
        await stop_hub(again)

    parts = _to(fake_telegram, 793)
    assert len(parts) == 3
    assert " ".join(p.text.strip() for p in parts if p.text) == LONG_TEXT
    assert sent.status == "sent" and sent.external_id == str(parts[0].message_id)
