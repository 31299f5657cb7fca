"""Provider payloads as the providers send them, and database look-ups for assertions."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import func, select

from hub.models import Conversation, Customer, Identity, Message
from hub.runtime.services import Hub
from hub.sandbox.telegram_updates import telegram_update as build_update

_update_ids = itertools.count(10_000)
_message_ids = itertools.count(500)


def telegram_update(
    user_id: int = 4242,
    text: str | None = "hello",
    *,
    first_name: str = "Ivan",
    last_name: str | None = "Petrov",
    language_code: str | None = "ru",
    update_id: int | None = None,
    message_id: int | None = None,
    chat_type: str = "private",
    **message_fields: Any,
) -> dict[str, Any]:
    """A customer's Telegram update with test defaults (Ivan Petrov, Russian) and fresh ids."""
    return build_update(
        next(_update_ids) if update_id is None else update_id,
        user_id,
        text,
        first_name=first_name,
        last_name=last_name,
        language_code=language_code,
        message_id=next(_message_ids) if message_id is None else message_id,
        date=1_790_000_000,
        chat_type=chat_type,
        **message_fields,
    )


async def messages_of(hub: Hub, **where: Any) -> list[Message]:
    async with hub.db.session() as session:
        query = select(Message).order_by(Message.id)  # type: ignore[arg-type]
        for column, value in where.items():
            query = query.where(getattr(Message, column) == value)
        return list((await session.scalars(query)).all())


async def count(hub: Hub, model: type[Any]) -> int:
    async with hub.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def customer_of(hub: Hub, channel: str, address: str) -> Customer | None:
    async with hub.db.session() as session:
        identity = await session.scalar(
            select(Identity).where(Identity.channel == channel, Identity.address == address)
        )
        return None if identity is None else await session.get(Customer, identity.customer_id)


async def conversations_of(hub: Hub, customer_id: int) -> list[Conversation]:
    async with hub.db.session() as session:
        rows = await session.scalars(
            select(Conversation).where(Conversation.customer_id == customer_id)
        )
        return list(rows.all())
