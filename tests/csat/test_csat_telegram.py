"""CSAT on Telegram, in Russian: the question in the customer's language, "Оценка: 5"
answers it, and a thread that is open again takes a bare digit as a message."""

from __future__ import annotations

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.support import RunningHub, eventually
from tests.support.api import customer_writes, make_api


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"csat": True}


async def _told(fake: FakeTelegramAPI, chat: int, start: str) -> SentMessage:
    async def probe() -> SentMessage | None:
        found = [m for m in fake.sent if m.chat_id == chat and (m.text or "").startswith(start)]
        return found[-1] if found else None

    return await eventually(probe, what=f"{start!r} sent to {chat}")


async def test_a_russian_customer_rates_on_telegram(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    api = await make_api(hub, "olga@shop.test", "Olga")
    first = await customer_writes(hub, 7701, "Здравствуйте, где мой заказ?")
    path = f"/conversations/{first.conversation_id}/status"
    await api.ok("POST", path, {"status": "resolved"})
    await _told(fake_telegram, 7701, "Ваше обращение решено")

    # Reopened by hand: the customer is talking again, so "3" is a message in the thread.
    await api.ok("POST", path, {"status": "open"})
    again = await customer_writes(hub, 7701, "3")
    assert again.conversation_id == first.conversation_id
    assert not [m for m in fake_telegram.sent if (m.text or "").startswith("Спасибо")]

    await api.ok("POST", path, {"status": "resolved"})  # a new resolution: asked again
    asked = [m for m in fake_telegram.sent if (m.text or "").startswith("Ваше обращение")]
    await eventually(lambda: _count(fake_telegram, "Ваше обращение", 2), what="the second question")
    rating = await customer_writes(hub, 7701, "Оценка: 5")
    assert rating.conversation_id == first.conversation_id and asked
    await _told(fake_telegram, 7701, "Спасибо за оценку (5/5)!")
    assert (await api.get(f"/conversations/{first.conversation_id}"))["status"] == "resolved"


async def _count(fake: FakeTelegramAPI, start: str, n: int) -> bool:
    return len([m for m in fake.sent if (m.text or "").startswith(start)]) >= n
