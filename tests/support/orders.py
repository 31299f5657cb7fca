"""Orders put through the API, and what the bots answered the customer about them."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.support.api import Api
from tests.support.people import Person


async def put_order(
    api: Api, number: str, owner: dict[str, Any] | int | Person, status: str, **fields: Any
) -> dict[str, Any]:
    """PUT an order as the shop's system does; `owner` is the order's customer block, a
    Telegram user id (a customer named Owner), or a person who knows their own block."""
    if isinstance(owner, int):
        customer = {"telegram_id": owner, "name": "Owner"}
    elif isinstance(owner, dict):
        customer = owner
    else:
        customer = owner.order_customer()
    body = {"customer": customer, "status": status, **fields}
    code, data, _ = await api.call("PUT", f"/orders/{number}", body)
    assert code in (200, 201), data
    return dict(data)


async def bot_answer(fake: FakeTelegramAPI, chat_id: int, after: int = 0) -> SentMessage:
    """The next message the hub sent to this chat, beyond the first `after` ones."""

    def nth(sent: SentMessage) -> bool:
        mine = [s for s in fake.sent if s.chat_id == chat_id]
        return sent.chat_id == chat_id and len(mine) > after and sent is mine[after]

    return await fake.wait_for_sent(nth, timeout=10)


def sent_to(fake: FakeTelegramAPI, chat_id: int) -> list[str]:
    return [s.text or "" for s in fake.sent if s.chat_id == chat_id]
