"""Rows to answer models (SPEC §5 object shapes); pure, no database access."""

from __future__ import annotations

from collections.abc import Sequence

from hub.actions.reply_writer import StoredReply
from hub.domain.types import Direction, MessageStatus, SenderType
from hub.models import (
    Attachment,
    CannedResponse,
    Conversation,
    Message,
    Order,
    OrderStatusChange,
)
from hub.queries.conversations import ConversationDetails
from hub.queries.customers import CustomerCard
from hub.web.api.schemas import (
    AttachmentOut,
    CannedOut,
    ConversationOut,
    CustomerOut,
    CustomerSummary,
    IdentityOut,
    MessageOut,
    OrderOut,
    StatusChangeOut,
    SuggestionOut,
    TimelineOut,
)


def _id(value: int | None) -> int:
    assert value is not None, "rows are serialised after flush, when they have ids"
    return value


def conversation(row: Conversation, details: ConversationDetails) -> ConversationOut:
    customer = details.customers.get(row.customer_id)
    return ConversationOut.model_validate(
        {
            "id": _id(row.id),
            "status": row.status,
            "customer": CustomerSummary(
                id=row.customer_id, name=customer.name if customer else None
            ),
            "channel": row.channel,
            "assignee_id": row.assignee_id,
            "labels": details.labels.get(_id(row.id), []),
            "bot_active": row.bot_active,
            "merged_into": row.merged_into_id,
            "team_id": row.team_id,
            "priority": row.priority,
            "last_message_at": row.last_message_at,
            "created_at": row.created_at,
        }
    )


def conversations(
    rows: Sequence[Conversation], details: ConversationDetails
) -> list[ConversationOut]:
    return [conversation(row, details) for row in rows]


def attachment(row: Attachment) -> AttachmentOut:
    return AttachmentOut.model_validate(
        {
            "id": _id(row.id),
            "kind": row.kind,
            "content_type": row.content_type,
            "filename": row.filename,
            "size": row.size,
            "status": row.status,
            "error": row.error,
        }
    )


def message(
    row: Message, note_kind: str | None = None, files: Sequence[Attachment] = ()
) -> MessageOut:
    return MessageOut.model_validate(
        {
            "id": _id(row.id),
            "conversation_id": row.conversation_id,
            "direction": row.direction,
            "sender_type": row.sender_type,
            "channel": row.channel,
            "text": row.text,
            "private": row.private,
            "status": row.status,
            "error": row.error,
            "external_id": row.external_id,
            "created_at": row.created_at,
            "note_kind": note_kind,
            "attachments": [attachment(f) for f in files],
        }
    )


def stored_reply(reply: StoredReply) -> MessageOut:
    """A reply just committed by the group commit (hub.actions.reply_writer)."""
    return MessageOut.model_validate(
        {
            "id": reply.id,
            "conversation_id": reply.conversation_id,
            "direction": Direction.OUTBOUND.value,
            "sender_type": SenderType.OPERATOR.value,
            "channel": reply.channel,
            "text": reply.text,
            "private": False,
            "status": MessageStatus.QUEUED.value,
            "error": None,
            "external_id": None,
            "created_at": reply.created_at,
        }
    )


def order(row: Order, history: Sequence[OrderStatusChange]) -> OrderOut:
    return OrderOut(
        number=row.number,
        status=row.status,
        items=list(row.items or []),
        total=row.total,
        currency=row.currency,
        tracking_url=row.tracking_url,
        pickup_point=row.pickup_point,
        customer_id=row.customer_id,
        history=[StatusChangeOut(status=h.status, at=h.at) for h in history],
        updated_at=row.updated_at,
    )


def customer(card: CustomerCard) -> CustomerOut:
    row = card.customer
    return CustomerOut.model_validate(
        {
            "id": _id(row.id),
            "name": row.name,
            "locale": row.locale,
            "preferred_channel": card.preferred_channel,
            "identities": [
                IdentityOut.model_validate(
                    {
                        "id": _id(i.id),
                        "channel": i.channel,
                        "address": i.address,
                        "verified": i.verified,
                        "confirmed_by_id": i.confirmed_by_id,
                        "confirmed_at": i.confirmed_at,
                        "opted_out": i.opted_out,
                    }
                )
                for i in card.identities
            ],
            "orders": [order(o, card.history.get(_id(o.id), [])) for o in card.orders],
            "conversations": conversations(card.conversations, card.details),
            "suggestions": [
                SuggestionOut.model_validate(
                    {
                        "id": _id(s.id),
                        "customer_id": s.customer_id,
                        "owner_id": s.owner_id,
                        "channel": s.channel,
                        "address": s.address,
                        "created_at": s.created_at,
                    }
                )
                for s in card.suggestions
            ],
            "timeline": [
                TimelineOut.model_validate(
                    {
                        "kind": e.kind,
                        "channel": e.channel,
                        "address": e.address,
                        "other_customer_id": e.other_customer_id,
                        "operator_id": e.operator_id,
                        "rule": e.rule,
                        "at": e.created_at,
                    }
                )
                for e in card.timeline
            ],
        }
    )


def canned(row: CannedResponse) -> CannedOut:
    return CannedOut(
        id=_id(row.id), shortcut=row.shortcut, text=row.text, created_at=row.created_at
    )
