"""Every event name in one place; events are recorded with a change, published after commit."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
CONVERSATION_UPDATED = "conversation.updated"
CONVERSATION_CREATED = "conversation.created"
CONVERSATION_RESOLVED = "conversation.resolved"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_MERGED = "customer.merged"
WEBCHAT_TYPING = "webchat.typing"
ORDER_NOTIFIED = "order.notified"

# What a shop's tools may subscribe to (outgoing webhooks, hub.actions.webhook_outbox).
WEBHOOK_EVENTS = (
    MESSAGE_CREATED,
    CONVERSATION_CREATED,
    CONVERSATION_UPDATED,
    CONVERSATION_RESOLVED,
    CUSTOMER_MERGED,
    ORDER_NOTIFIED,
)


@dataclass(frozen=True, slots=True)
class Event:
    """A change the inbox and the web chat sockets may want to show.

    `conversation_id`/`customer_id` let subscribers filter without decoding `data`.
    """

    name: str
    conversation_id: int | None = None
    customer_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        return cls(**json.loads(raw))
