"""Request and response bodies of the REST API (SPEC §5), as pydantic models.

The same models validate requests, shape answers and generate the OpenAPI document, so
the published schemas cannot drift from what the API really accepts and answers.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, field_validator

# Spelled out for the schema; a test keeps them equal to hub.domain.types' enums.
ChannelName = Literal["telegram", "whatsapp", "sms", "email", "webchat"]
StatusName = Literal["open", "pending", "resolved", "snoozed"]
NoteKindName = Literal["phone_call", "in_store_visit"]
# Ids are int4 on PostgreSQL: a larger number must fail validation, not the database.
MAX_ID = 2**31 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
# Money as exact decimals; a digit limit keeps the stored string within its column.
Money = Annotated[Decimal, Field(max_digits=20, description="a decimal string; numbers accepted")]
MAX_LIMIT = 200
_TELEGRAM_ID = re.compile(r"-?[0-9]{1,20}")
DEFAULT_LIMIT = 50


class Out(BaseModel):
    """An answer: every field is always present (null when unset), as clients expect."""

    model_config = ConfigDict(
        json_schema_mode_override="serialization", json_schema_serialization_defaults_required=True
    )


# ----------------------------------------------------------------------------- errors


class ErrorDetail(Out):
    code: str = Field(description="machine-readable, e.g. not_found, invalid_input")
    message: str


class Error(Out):
    error: ErrorDetail


# ----------------------------------------------------------------------------- queries


class PageQuery(BaseModel):
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ConversationQuery(PageQuery):
    status: StatusName | None = None
    channel: ChannelName | None = None
    assignee: str | None = Field(
        None, pattern=r"^(me|none|[1-9][0-9]{0,9})$", description="`me`, `none` or an operator id"
    )
    label: str | None = Field(None, max_length=64)
    q: str | None = Field(None, max_length=200, description="search text")

    @field_validator("assignee")
    @classmethod
    def _assignee_id_exists_in_form(cls, value: str | None) -> str | None:
        if value is not None and value.isdigit() and int(value) > MAX_ID:
            raise ValueError("not an operator id")
        return value


class CustomerQuery(PageQuery):
    q: str | None = Field(None, max_length=200, description="a name or an address")


# ----------------------------------------------------------------------------- requests


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class ReplyBody(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    channel: ChannelName | None = Field(
        None, description="default: the customer's last inbound channel"
    )
    private: StrictBool = Field(False, description="an internal note, never sent")
    note_kind: NoteKindName | None = Field(
        None, description="log a phone call or in-store visit: stored as a private note"
    )


class HandoffBody(BaseModel):
    """The external bot hands the conversation to a person (`{}` gives no reason)."""

    reason: str | None = Field(
        None, max_length=500, description="shown to operators on the thread's handoff note"
    )


class AssignBody(BaseModel):
    operator_id: DbId | None = Field(description="null unassigns")


PriorityName = Literal["low", "normal", "high", "urgent"]


class TeamBody(BaseModel):
    team_id: DbId | None = Field(description="null takes the conversation out of its team")


class PriorityBody(BaseModel):
    priority: PriorityName


class StatusBody(BaseModel):
    status: StatusName
    snooze_until: AwareDatetime | None = Field(None, description="required to snooze")


class LabelsBody(BaseModel):
    labels: list[str] = Field(max_length=50, description="replaces the labels")


class DecisionBody(BaseModel):
    """An operator's decision about who a customer is; it needs no fields (`{}`)."""

    model_config = ConfigDict(extra="forbid")


class MergeBody(BaseModel):
    other_id: DbId = Field(description="the customer merged into this one")


class OrderCustomerBody(BaseModel):
    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=64)
    email: str | None = Field(None, max_length=320)
    telegram_id: str | int | None = Field(None, description="the Telegram user id")

    @field_validator("telegram_id")
    @classmethod
    def _telegram_id_is_a_number(cls, value: str | int | None) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not _TELEGRAM_ID.fullmatch(text):
            raise ValueError("a Telegram user id is a number")
        return text


class OrderItemBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    sku: str | None = Field(None, max_length=100)
    name: str = Field(max_length=500)
    qty: int = Field(ge=0)
    price: Money | None = None


class OrderBody(BaseModel):
    customer: OrderCustomerBody
    status: str = Field(min_length=1, max_length=64)
    items: list[OrderItemBody] | None = Field(None, max_length=1000)
    total: Money | None = None
    currency: str | None = Field(None, max_length=8)
    tracking_url: str | None = Field(None, max_length=1000)
    pickup_point: str | None = Field(
        None, max_length=500, description='where the customer collects the order; "" clears it'
    )
    notify: StrictBool = Field(False, description="tell the customer about a status change")


class CannedBody(BaseModel):
    shortcut: str = Field(min_length=1, max_length=65)
    text: str = Field(min_length=1, max_length=20_000)


# ----------------------------------------------------------------------------- answers


class TokenOut(Out):
    token: str = Field(description="shown once; send as `Authorization: Bearer TOKEN`")


class CustomerSummary(Out):
    id: int
    name: str | None


class ConversationOut(Out):
    id: int
    status: StatusName
    customer: CustomerSummary
    channel: ChannelName = Field(description="channel of the latest inbound message")
    assignee_id: int | None
    labels: list[str]
    bot_active: bool
    merged_into: int | None = Field(
        None, description="folded into this conversation by a customer merge (SPEC §6)"
    )
    team_id: int | None = Field(None, description="the team that handles it")
    priority: PriorityName = Field("normal", description="drives the SLA targets")
    last_message_at: datetime
    created_at: datetime


class AttachmentOut(Out):
    id: int = Field(description="GET /attachments/{id} serves the bytes once stored")
    kind: str = Field(description="image, audio, video or document")
    content_type: str | None
    filename: str | None
    size: int | None = Field(description="bytes")
    status: Literal["pending", "stored", "unavailable", "too_large", "refused"] = Field(
        description="pending until fetched from the provider; only stored files have bytes"
    )
    error: str | None = Field(description="why the file is not stored")


class MessageOut(Out):
    id: int
    conversation_id: int
    direction: Literal["inbound", "outbound"]
    sender_type: Literal["customer", "operator", "bot", "system"]
    channel: ChannelName
    text: str
    private: bool
    status: Literal["received", "queued", "sent", "delivered", "read", "failed"]
    error: str | None
    external_id: str | None = Field(description="the provider's id for the message")
    created_at: datetime
    note_kind: NoteKindName | None = Field(
        None, description="a private note that logs a phone call or an in-store visit"
    )
    attachments: list[AttachmentOut] = Field(
        default_factory=list, description="files that came or went with the message"
    )


class IdentityOut(Out):
    id: int
    channel: ChannelName
    address: str
    verified: bool = Field(
        description="proven (a provider delivered from it, the shop's API sent it, an "
        "identity_hash covered it, an operator confirmed it) or only claimed"
    )
    confirmed_by_id: int | None = Field(None, description="the operator who confirmed a claim")
    confirmed_at: datetime | None = None
    opted_out: bool = Field(
        default=False, description="SMS: the number texted STOP; nothing is sent to it"
    )


class StatusChangeOut(Out):
    status: str
    at: datetime


class OrderOut(Out):
    number: str
    status: str
    items: list[dict[str, Any]]
    total: str | None = Field(description="a decimal string")
    currency: str | None
    tracking_url: str | None
    pickup_point: str | None = Field(description="where the customer collects the order")
    customer_id: int
    history: list[StatusChangeOut] = Field(description="oldest first")
    updated_at: datetime


NoticeReasonName = Literal["same_status", "already_notified", "no_reachable_channel", "opted_out"]


class NotificationOut(Out):
    queued: bool = Field(description="a notice to the customer was queued")
    channel: ChannelName | None = Field(description="where it goes; null when nothing is queued")
    reason: NoticeReasonName | None = Field(description="why nothing was queued; null when queued")


class OrderPutOut(OrderOut):
    notification: NotificationOut | None = Field(
        description="what `notify: true` did; null when notify was not asked for"
    )


class SuggestionOut(Out):
    id: int
    customer_id: int = Field(description="the customer who claimed the address")
    owner_id: int = Field(description="the customer who holds it")
    channel: ChannelName
    address: str
    created_at: datetime


class TimelineOut(Out):
    kind: str = Field(
        description="link, prove, merge, claim, suggest, claim_moved, confirm, dismiss, fold"
    )
    channel: str | None
    address: str | None
    other_customer_id: int | None
    operator_id: int | None = Field(description="who did it; null when a rule did")
    rule: str | None = Field(description="the rule that did it, when no operator did")
    at: datetime


class CustomerOut(Out):
    id: int
    name: str | None
    locale: str | None
    preferred_channel: ChannelName | None
    identities: list[IdentityOut]
    orders: list[OrderOut]
    conversations: list[ConversationOut]
    suggestions: list[SuggestionOut] = Field(
        default_factory=list, description="suggested merges an operator may accept or dismiss"
    )
    timeline: list[TimelineOut] = Field(
        default_factory=list, description="links, merges, claims, confirmations; newest first"
    )


class CannedOut(Out):
    id: int
    shortcut: str
    text: str
    created_at: datetime


class ConversationPage(Out):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagePage(Out):
    items: list[MessageOut]
    next_cursor: str | None


class CustomerPage(Out):
    items: list[CustomerOut]
    next_cursor: str | None


class TeamOut(Out):
    id: int
    name: str
    timezone: str = Field(description="IANA time zone of the team's business hours")
    member_ids: list[int]


class TeamPage(Out):
    items: list[TeamOut]
    next_cursor: str | None


class CannedPage(Out):
    items: list[CannedOut]
    next_cursor: str | None
