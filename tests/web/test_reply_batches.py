"""Operator replies that arrive together are stored together (hub.actions.reply_writer),
and each still behaves, and is answered, as if it had come alone."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hub.actions import reply_writer
from hub.actions.reply_writer import ReplyRequest, StoredReply
from hub.errors import InvalidInput, NotFound
from hub.web.keys import REPLIES
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes
from tests.support.routing import conversation


async def test_concurrent_replies_each_get_their_own_answer_and_leave_once(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    threads = [await customer_writes(hub, 9100 + n, f"question {n}") for n in range(6)]
    posts: list[tuple[int, str]] = [
        (t.conversation_id, f"answer {n}.{k}") for k in range(3) for n, t in enumerate(threads)
    ]
    answers = await asyncio.gather(
        *(
            api.call("POST", f"/conversations/{cid}/messages", {"text": text})
            for cid, text in posts
        ),
        api.call("POST", "/conversations/987654/messages", {"text": "to nobody"}),
        api.call(
            "POST",
            f"/conversations/{threads[0].conversation_id}/messages",
            {"text": "by sms", "channel": "sms"},
        ),
    )
    replies = [body for status, body, _ in answers[: len(posts)] if status == 201]
    assert [(r["conversation_id"], r["text"]) for r in replies] == posts
    assert len({r["id"] for r in replies}) == len(posts)
    assert answers[-2][0] == 404 and answers[-2][1]["error"]["code"] == "not_found"
    assert answers[-1][0] == 422 and "sms" in answers[-1][1]["error"]["message"]

    for thread in threads:
        mine = [r for r in replies if r["conversation_id"] == thread.conversation_id]
        stored = await conversation(hub, thread.conversation_id)
        last = max(mine, key=lambda r: r["id"])
        assert stored.last_message_text == last["text"]  # the latest stored reply
        assert stored.bot_active is False and stored.waiting_since is None
        assert stored.first_reply_at is not None

    def every_reply_sent() -> bool:
        return {s.text for s in fake_telegram.sent} >= {text for _, text in posts}

    await eventually(_sync(every_reply_sent), what="every reply at the provider")
    counted = Counter(s.text for s in fake_telegram.sent if s.text and s.text.startswith("answer"))
    assert set(counted.values()) == {1}
    # Within one thread the replies leave in the order they were stored.
    ids = {r["text"]: r["id"] for r in replies}
    for n in range(len(threads)):
        chat = [s.text for s in fake_telegram.sent if s.chat_id == 9100 + n and s.text in ids]
        assert chat == sorted(chat, key=ids.__getitem__)


async def test_one_write_turn_carries_the_batch_and_errors_stay_with_their_reply(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await customer_writes(hub, 9201, "hello")
    second = await customer_writes(hub, 9202, "hi")
    before = await api.ok(
        "POST", f"/conversations/{first.conversation_id}/messages", {"text": "first"}, 201
    )
    replied_at = (await conversation(hub, first.conversation_id)).first_reply_at
    assert replied_at is not None

    sizes: list[int] = []
    store = reply_writer.store

    async def counting(session: Any, planned: Any) -> list[StoredReply]:
        sizes.append(len(planned))
        return await store(session, planned)

    monkeypatch.setattr(reply_writer, "store", counting)
    writer = hub.runner.app[REPLIES]
    requests = [
        ReplyRequest(first.conversation_id, "one", api.operator_id),
        ReplyRequest(424242, "lost", api.operator_id),
        ReplyRequest(second.conversation_id, "two", api.operator_id),
        ReplyRequest(first.conversation_id, "three", api.operator_id, "email"),
        ReplyRequest(second.conversation_id, "four", api.operator_id, "telegram"),
        ReplyRequest(424242, "   ", api.operator_id),  # 404 before the text, as alone
        ReplyRequest(second.conversation_id, "   ", api.operator_id),
    ]
    outcomes = await asyncio.gather(*(writer.reply(r) for r in requests), return_exceptions=True)
    assert sizes == [3]  # the three that can go, in one write turn
    one, lost, two, by_mail, four, blank_lost, blank = outcomes
    assert isinstance(lost, NotFound) and isinstance(blank_lost, NotFound)
    assert isinstance(blank, InvalidInput) and "empty" in blank.message
    assert isinstance(by_mail, InvalidInput) and "email" in by_mail.message
    assert isinstance(one, StoredReply) and isinstance(two, StoredReply)
    assert isinstance(four, StoredReply)
    assert before["id"] < one.id < two.id < four.id
    assert (one.conversation_id, two.conversation_id) == (
        first.conversation_id,
        second.conversation_id,
    )
    # The SLA's first response is the first reply's, not the latest one's.
    assert (await conversation(hub, first.conversation_id)).first_reply_at == replied_at
    assert (await conversation(hub, second.conversation_id)).last_message_text == "four"


async def test_a_batch_that_fails_as_a_whole_is_stored_reply_by_reply(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = [await customer_writes(hub, 9300 + n, f"hello {n}") for n in range(3)]
    store = reply_writer.store

    async def poisoned(session: Any, planned: Any) -> list[StoredReply]:
        if any(p.request.text == "poison" for p in planned):
            raise RuntimeError("a reply the database refuses")
        return await store(session, planned)

    monkeypatch.setattr(reply_writer, "store", poisoned)
    writer = hub.runner.app[REPLIES]
    texts = ["fine", "poison", "also fine"]
    outcomes = await asyncio.gather(
        *(
            writer.reply(ReplyRequest(t.conversation_id, text, api.operator_id))
            for t, text in zip(threads, texts, strict=True)
        ),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], RuntimeError)
    assert [o.text for o in outcomes if isinstance(o, StoredReply)] == ["fine", "also fine"]
    listed = await api.get(f"/conversations/{threads[1].conversation_id}/messages")
    assert [m["text"] for m in listed["items"]] == ["hello 1"]


def _sync(check: Any) -> Any:
    async def probe() -> bool:
        return bool(check())

    return probe
