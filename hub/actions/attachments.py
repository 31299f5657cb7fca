"""Attachments: recorded with their message at routing, fetched after, shown to operators.

A file never holds its message back (SPEC §4): the router stores one `pending` row per
file in the routing transaction; the worker's fetcher claims due rows, fetches, and ends
each as stored, unavailable (after retries), too_large or refused. The last two tell the
customer once, on the channel they wrote from, with a system message shown in the thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import get_conversation
from hub.actions.replies import do_reply
from hub.actions.texts import pick_locale, render
from hub.actions.unit import record
from hub.domain import events
from hub.domain.events import Event
from hub.domain.media import AttachmentStatus, kind_of
from hub.domain.messages import InboundMessage, OutboundAttachment, OutboundMessage
from hub.domain.types import SenderType
from hub.errors import NotFound
from hub.media.store import MediaStore, signed_link
from hub.models import Attachment, Customer, Message
from hub.models.base import utcnow
from hub.models.tables import ATTACHMENTS, MESSAGES

# Wakes the worker's fetcher when routed messages brought files (not shown in the inbox).
ATTACHMENTS_PENDING = "attachment.pending"
STORED_PREFIX = "media:"  # a ref naming a file already in the media store (web chat upload)
LEASE_SECONDS = 120.0
NAME_CHARS = 255


def _name(filename: str | None) -> str | None:
    """A display name only: path parts and control characters dropped, length capped."""
    if not filename:
        return None
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable()).strip()
    return clean[:NAME_CHARS] or None


async def do_add_inbound_attachments(
    session: AsyncSession, stored: list[tuple[InboundMessage, int, int]]
) -> None:
    """Rows for the files of freshly routed messages: (inbound, message id, conversation id).

    Called by the router in its transaction, so a redelivered event (already stored, not
    fresh) never adds its files twice.
    """
    now = utcnow()
    rows = []
    conversations = set()
    for inbound, message_id, conversation_id in stored:
        for item in inbound.attachments:
            ready = item.ref.startswith(STORED_PREFIX)
            rows.append(
                {
                    "message_id": message_id,
                    "kind": item.kind[:16],
                    "content_type": (item.content_type or None) and item.content_type[:255],
                    "filename": _name(item.filename),
                    "size": item.size,
                    "storage_key": item.ref.removeprefix(STORED_PREFIX) if ready else None,
                    "status": AttachmentStatus.STORED if ready else AttachmentStatus.PENDING,
                    "provider_ref": None if ready else item.ref,
                    "attempts": 0,
                    "next_attempt_at": None if ready else now,
                    "created_at": now,
                }
            )
            if not ready:
                conversations.add(conversation_id)
    if not rows:
        return
    await session.execute(insert(ATTACHMENTS), rows)
    for conversation_id in conversations:
        record(session, Event(ATTACHMENTS_PENDING, conversation_id=conversation_id))


@dataclass(frozen=True, slots=True)
class Fetch:
    """A claimed pending file: what the fetcher needs to get it from its channel."""

    id: int
    message_id: int
    channel: str
    ref: str
    content_type: str | None
    filename: str | None
    attempts: int


async def claim_due(session: AsyncSession, limit: int) -> list[Fetch]:
    """Pending files due now, each leased to this caller (a crash ends the lease)."""
    now = utcnow()
    rows = (
        await session.execute(
            select(
                ATTACHMENTS.c.id,
                ATTACHMENTS.c.message_id,
                MESSAGES.c.channel,
                ATTACHMENTS.c.provider_ref,
                ATTACHMENTS.c.content_type,
                ATTACHMENTS.c.filename,
                ATTACHMENTS.c.attempts,
            )
            .join(MESSAGES, MESSAGES.c.id == ATTACHMENTS.c.message_id)
            .where(
                ATTACHMENTS.c.status == AttachmentStatus.PENDING,
                ATTACHMENTS.c.next_attempt_at <= now,
            )
            .order_by(ATTACHMENTS.c.next_attempt_at, ATTACHMENTS.c.id)
            .limit(limit)
        )
    ).all()
    claimed = []
    lease = now + timedelta(seconds=LEASE_SECONDS)
    for row in rows:
        # Compare-and-set on the attempt count: of two workers, exactly one takes it.
        result = await session.execute(
            update(ATTACHMENTS)
            .where(
                ATTACHMENTS.c.id == row.id,
                ATTACHMENTS.c.status == AttachmentStatus.PENDING,
                ATTACHMENTS.c.attempts == row.attempts,
            )
            .values(next_attempt_at=lease, attempts=row.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(
                Fetch(
                    row.id,
                    row.message_id,
                    row.channel,
                    row.provider_ref or "",
                    row.content_type,
                    row.filename,
                    row.attempts + 1,
                )
            )
    return claimed


async def _updated(session: AsyncSession, attachment: Attachment) -> Message:
    message = await session.get(Message, attachment.message_id)
    if message is None:
        raise NotFound("the attachment's message is gone")
    record(
        session,
        Event(
            events.MESSAGE_UPDATED,
            conversation_id=message.conversation_id,
            customer_id=message.customer_id,
            data={
                "message_id": message.id,
                "attachment_id": attachment.id,
                "attachment_status": attachment.status,
            },
        ),
    )
    return message


async def do_retry_later(
    session: AsyncSession, attachment_id: int, delay: float, error: str
) -> None:
    await session.execute(
        update(ATTACHMENTS)
        .where(ATTACHMENTS.c.id == attachment_id)
        .values(next_attempt_at=utcnow() + timedelta(seconds=delay), error=error[:2000])
    )


async def do_finish(
    session: AsyncSession,
    attachment_id: int,
    status: str,
    *,
    storage_key: str | None = None,
    content_type: str | None = None,
    size: int | None = None,
    error: str | None = None,
    limit_bytes: int = 0,
) -> Message | None:
    """End a fetch; a too-large or refused file tells the customer (once per message):
    that notice is returned, its send queued by the caller's commit."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.status != AttachmentStatus.PENDING:
        return None
    attachment.status = status
    attachment.storage_key = storage_key
    attachment.content_type = content_type or attachment.content_type
    attachment.size = size if size is not None else attachment.size
    attachment.error = error[:2000] if error else None
    attachment.next_attempt_at = None
    if content_type:
        attachment.kind = kind_of(content_type)
    session.add(attachment)
    await session.flush()
    message = await _updated(session, attachment)
    if status not in (AttachmentStatus.TOO_LARGE, AttachmentStatus.REFUSED):
        return None
    return await _tell_customer(session, attachment, message, limit_bytes)


async def _tell_customer(
    session: AsyncSession, attachment: Attachment, message: Message, limit_bytes: int
) -> Message | None:
    told_before = await session.scalar(
        select(col(Attachment.id)).where(
            col(Attachment.message_id) == message.id,
            col(Attachment.id) != attachment.id,
            col(Attachment.status).in_([AttachmentStatus.TOO_LARGE, AttachmentStatus.REFUSED]),
        )
    )
    if told_before is not None:
        return None
    customer = await session.get(Customer, message.customer_id)
    locale = pick_locale(customer.locale if customer else None, message.text)
    template = (
        "attachment_too_large"
        if attachment.status == AttachmentStatus.TOO_LARGE
        else "attachment_refused"
    )
    text = render(
        locale,
        template,
        {"filename": attachment.filename or "", "limit": readable_size(limit_bytes)},
    )
    conversation = await get_conversation(session, message.conversation_id)
    return await do_reply(
        session, conversation, text, sender_type=SenderType.SYSTEM, channel=message.channel
    )


def readable_size(size: int) -> str:
    """20 MB, 64 KB: how a limit is told to a customer."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(1, round(size / 1024))} KB"


async def attachments_of(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, list[Attachment]]:
    """Each message's files, in the order they came."""
    if not message_ids:
        return {}
    rows = await session.scalars(
        select(Attachment)
        .where(col(Attachment.message_id).in_(message_ids))
        .order_by(col(Attachment.id))
    )
    found: dict[int, list[Attachment]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row)
    return found


async def get_attachment(session: AsyncSession, attachment_id: int) -> Attachment:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("no such attachment")
    return attachment


async def do_add_outbound_attachment(
    session: AsyncSession,
    message_id: int,
    *,
    storage_key: str,
    content_type: str,
    filename: str | None,
    size: int,
) -> Attachment:
    """A file an operator sends, already in the media store, on their stored reply."""
    attachment = Attachment(
        message_id=message_id,
        kind=kind_of(content_type),
        content_type=content_type,
        filename=_name(filename) or "file",
        size=size,
        storage_key=storage_key,
        status=AttachmentStatus.STORED,
    )
    session.add(attachment)
    await session.flush()
    return attachment


class FileAttacher:
    """Puts an outbound message's files (bytes and a signed public link) on its send."""

    def __init__(self, store: MediaStore, secret: bytes, base_url: str) -> None:
        self.store, self.secret, self.base_url = store, secret, base_url

    async def attach_all(
        self, session: AsyncSession, sends: dict[int, OutboundMessage]
    ) -> dict[int, OutboundMessage]:
        """The same for a batch of sends: one query finds the files of all of them."""
        found = await attachments_of(session, list(sends))
        if not found:
            return sends
        return {
            message_id: await self._with_files(outbound, found.get(message_id))
            for message_id, outbound in sends.items()
        }

    async def _with_files(
        self, outbound: OutboundMessage, files: list[Attachment] | None
    ) -> OutboundMessage:
        if not files:
            return outbound
        attached = []
        for item in files:
            if item.status != AttachmentStatus.STORED or item.storage_key is None:
                continue
            attached.append(
                OutboundAttachment(
                    filename=item.filename or "file",
                    content_type=item.content_type or "application/octet-stream",
                    data=await self.store.read(item.storage_key),
                    url=signed_link(self.secret, self.base_url, item.id or 0),
                )
            )
        return replace(outbound, attachments=tuple(attached))
