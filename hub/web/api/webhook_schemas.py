"""Outgoing webhooks in the REST API: the subscription routes' bodies and answers, and
the payloads the hub POSTs, documented in the OpenAPI document's `components.schemas`
and its `webhooks` section (the same models the tests validate real deliveries with)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from hub.web.api.schemas import (
    ChannelName,
    ConversationOut,
    IdentityOut,
    MessageOut,
    OrderOut,
    Out,
)

# Spelled out for the schema; a test keeps it equal to hub.domain.events.WEBHOOK_EVENTS.
WebhookEventName = Literal[
    "message.created",
    "conversation.created",
    "conversation.updated",
    "conversation.resolved",
    "customer.merged",
    "order.notified",
]


class WebhookBody(BaseModel):
    url: str = Field(
        max_length=2000,
        description="https:// on a public address (plain http to loopback only when "
        "HUB_WEBHOOK_ALLOW_LOOPBACK is set, for development)",
    )
    events: list[WebhookEventName] = Field(min_length=1, max_length=20)
    enabled: StrictBool = True


class RotateBody(BaseModel):
    """Rotating needs no fields (`{}`)."""

    model_config = ConfigDict(extra="forbid")


class DeliveryCountsOut(Out):
    pending: int
    delivered: int
    failed: int


class WebhookOut(Out):
    id: int
    url: str
    events: list[WebhookEventName]
    enabled: bool
    created_at: datetime
    deliveries: DeliveryCountsOut = Field(description="deliveries kept, by state")


class WebhookSecretOut(WebhookOut):
    secret: str = Field(
        description="shown once (here, and on each rotation): verifies X-Hub-Signature"
    )


class WebhookPage(Out):
    items: list[WebhookOut]
    next_cursor: str | None = Field(description="always null: every webhook fits one page")


class AttemptOut(Out):
    delivery_id: str = Field(description="the delivery's id, as in X-Hub-Delivery")
    event: WebhookEventName
    attempt: int = Field(description="1 for the first try")
    status_code: int | None = Field(description="the target's HTTP status; null: no answer")
    error: str | None
    duration_ms: int
    at: datetime


class AttemptPage(Out):
    items: list[AttemptOut] = Field(description="the latest tries, newest first")
    next_cursor: str | None = Field(description="always null: the log keeps the latest tries")


# ------------------------------------------------------------------ what the hub POSTs


class MessageEventData(Out):
    message: MessageOut
    conversation: ConversationOut | None


class ConversationEventData(Out):
    conversation: ConversationOut


class WebhookCustomer(Out):
    """The customer as SPEC §5 draws it (identities, orders, conversations)."""

    id: int
    name: str | None
    locale: str | None
    preferred_channel: ChannelName | None
    identities: list[IdentityOut]
    orders: list[OrderOut]
    conversations: list[ConversationOut]


class CustomerMergedData(Out):
    customer: WebhookCustomer = Field(description="the surviving customer, after the merge")
    merged_customer_id: int = Field(description="the customer merged into it")


class OrderNotifiedData(Out):
    order: OrderOut
    message: MessageOut | None = Field(description="the notice as stored in the thread")
    conversation: ConversationOut | None


class _Delivery(Out):
    id: str = Field(description="the delivery's id, also in X-Hub-Delivery: the same on retries")
    created_at: datetime = Field(description="when the change happened")


class MessageCreated(_Delivery):
    """A message was stored: a customer's, an operator's or the bot's reply, a note."""

    event: Literal["message.created"]
    data: MessageEventData


class ConversationCreated(_Delivery):
    event: Literal["conversation.created"]
    data: ConversationEventData


class ConversationUpdated(_Delivery):
    """Assignment, status, labels, bot hand-over or a reply changed the conversation."""

    event: Literal["conversation.updated"]
    data: ConversationEventData


class ConversationResolved(_Delivery):
    event: Literal["conversation.resolved"]
    data: ConversationEventData


class CustomerMerged(_Delivery):
    event: Literal["customer.merged"]
    data: CustomerMergedData


class OrderNotified(_Delivery):
    """The customer was told of an order's new status."""

    event: Literal["order.notified"]
    data: OrderNotifiedData


PAYLOADS: dict[str, type[_Delivery]] = {
    "message.created": MessageCreated,
    "conversation.created": ConversationCreated,
    "conversation.updated": ConversationUpdated,
    "conversation.resolved": ConversationResolved,
    "customer.merged": CustomerMerged,
    "order.notified": OrderNotified,
}
