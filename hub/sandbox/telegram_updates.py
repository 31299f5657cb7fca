"""Telegram Update payloads as the Bot API posts them to a webhook: one builder for the
sandbox's customers, the tests' factories and the benchmarks' load, so that all three send
the shape the hub's Telegram adapter is written against."""

from __future__ import annotations

from typing import Any


def telegram_update(
    update_id: int,
    user_id: int,
    text: str | None,
    *,
    first_name: str,
    last_name: str | None = None,
    language_code: str | None = None,
    message_id: int | None = None,
    date: int,
    chat_type: str = "private",
    **message_fields: Any,
) -> dict[str, Any]:
    """A message from `user_id` in their chat with the bot (chat id = user id, as Telegram
    numbers private chats); `message_id` defaults to `update_id`; `message_fields` (a
    `contact`, a `photo`, a `caption`...) join the message; `text=None` leaves it out."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if language_code:
        user["language_code"] = language_code
    message: dict[str, Any] = {
        "message_id": update_id if message_id is None else message_id,
        "from": user,
        "chat": {"id": user_id, "type": chat_type, "first_name": first_name},
        "date": date,
        **message_fields,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": update_id, "message": message}
