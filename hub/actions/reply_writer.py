"""Operator replies group-committed: replies that arrive together are stored together.

`POST /api/v1/conversations/{id}/messages` and the inbox's reply box hand their reply to
this process's `ReplyWriter` and wait for it. One flusher takes every reply waiting,
reads what they need in one statement for the batch (the conversation and the address it
is answered on), and writes them in ONE write turn and transaction: the messages, the
conversations' updates, the outgoing webhook deliveries and the outbound jobs, like the
webhook enqueue (hub.queue.group_commit) and the router do. Each caller then hears of its
own reply (its id) or its own error (404, 400, 409 WindowClosed), and only once its reply
is committed. What `do_reply` decides for one ORM reply, `plan` decides here for a batch:
the same rules, the same events, without a model or a flush per reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import metrics
from hub.actions.channel_state import whatsapp_window_open
from hub.actions.conversations import unresolved_conversation
from hub.actions.replies import check_reply_text, reply_address, valid_channel, window_closed
from hub.actions.unit import commit_and_publish, defer_send_of, discard, record
from hub.batcher import Batcher
from hub.db import Database
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import PREVIEW_CHARS
from hub.domain.types import Channel, ConversationStatus, Direction, MessageStatus, SenderType
from hub.errors import HubError, InvalidInput, NotFound
from hub.models.base import UTCDateTime, utcnow
from hub.models.tables import CONVERSATIONS, MESSAGES
from hub.queue.port import QueueBackend
from hub.realtime import Broker

MAX_BATCH = 200  # replies per write turn; more wait for the next one

_LAST_ADDRESS = (
    select(MESSAGES.c.address)
    .where(
        MESSAGES.c.customer_id == CONVERSATIONS.c.customer_id,
        MESSAGES.c.channel == CONVERSATIONS.c.channel,
        MESSAGES.c.direction == Direction.INBOUND.value,
        # An auto-reply, bounce or bulk mail is never answered (as in reply_address).
        MESSAGES.c.automated.is_(False),
    )
    .order_by(MESSAGES.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_READ = select(
    CONVERSATIONS.c.id,
    CONVERSATIONS.c.customer_id,
    CONVERSATIONS.c.channel,
    CONVERSATIONS.c.status,
    _LAST_ADDRESS,
).where(CONVERSATIONS.c.id.in_(bindparam("ids", expanding=True)))
_INSERT = insert(MESSAGES).returning(MESSAGES.c.id, MESSAGES.c.conversation_id)
_AT = bindparam("b_at", type_=UTCDateTime())
_TOUCH = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("b_id"))
    .values(
        last_message_at=_AT,
        last_message_text=bindparam("b_text"),
        # An operator answered: the bot steps back, the SLA's first response is kept, and
        # the customer no longer waits (hub.chores.waiting_alert).
        bot_active=False,
        first_reply_at=func.coalesce(CONVERSATIONS.c.first_reply_at, _AT),
        waiting_since=None,
    )
)


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    """One operator's reply; `channel` is set when the operator picked it by hand."""

    conversation_id: int
    text: str
    operator_id: int | None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class StoredReply:
    """A committed reply, as its caller answers it (`queued` until the send is recorded)."""

    id: int
    conversation_id: int
    customer_id: int
    channel: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class _Planned:
    request: ReplyRequest
    conversation_id: int  # the unresolved one when the request named a resolved one
    customer_id: int
    channel: str
    address: str


def check_reply_request(request: ReplyRequest) -> None:
    """What needs no database: the text, and the channel picked by hand."""
    check_reply_text(request.text)
    if request.channel is not None:
        valid_channel(request.channel)


async def plan(session: AsyncSession, requests: list[ReplyRequest]) -> list[_Planned | HubError]:
    """Where each reply goes and on which address, or why it cannot go (in order).

    One statement reads every conversation with the address its customer last wrote from
    on its channel; a resolved conversation, a channel picked by hand, no such address or
    WhatsApp (its 24 h window) take do_reply's per-reply reads."""
    rows = await session.execute(_READ, {"ids": sorted({r.conversation_id for r in requests})})
    found = {
        int(cid): (int(customer), str(channel), str(status), address)
        for cid, customer, channel, status, address in rows
    }
    planned: list[_Planned | HubError] = []
    for request in requests:
        row = found.get(request.conversation_id)
        if row is None:
            planned.append(NotFound(f"conversation {request.conversation_id} not found"))
            continue
        customer_id, channel, status, address = row
        try:
            check_reply_request(request)  # after the 404, as for a reply alone
            planned.append(await _route(session, request, customer_id, channel, status, address))
        except HubError as exc:
            planned.append(exc)
    return planned


async def _route(
    session: AsyncSession,
    request: ReplyRequest,
    customer_id: int,
    channel: str,
    status: str,
    address: str | None,
) -> _Planned:
    conversation_id = request.conversation_id
    if status == ConversationStatus.RESOLVED:
        # The customer's open thread, if any, takes the reply (do_reply's redirect).
        current = await unresolved_conversation(session, customer_id)
        if current is not None and current.id is not None:
            conversation_id, channel, address = current.id, current.channel, None
    target = valid_channel(request.channel or channel)
    if target != channel:
        address = None  # the batch read the address on the conversation's own channel
    if address is None:
        address = await reply_address(
            session, customer_id, target, claimed_ok=request.channel is not None
        )
    if address is None:
        raise InvalidInput(f"the customer has no {target} address to reply to")
    if target == Channel.WHATSAPP and not await whatsapp_window_open(session, customer_id):
        raise window_closed()
    return _Planned(request, conversation_id, customer_id, target, address)


async def store(session: AsyncSession, planned: list[_Planned]) -> list[StoredReply]:
    """Insert the batch's messages and update their conversations (in request order: the
    last reply to a thread is its preview); events and sends wait for the commit."""
    now = utcnow()
    rows = [
        {
            "conversation_id": p.conversation_id,
            "customer_id": p.customer_id,
            "direction": Direction.OUTBOUND.value,
            "sender_type": SenderType.OPERATOR.value,
            "operator_id": p.request.operator_id,
            "channel": p.channel,
            "text": p.request.text,
            "private": False,
            "status": MessageStatus.QUEUED.value,
            "address": p.address,
            "automated": False,
            "created_at": now,
        }
        for p in planned
    ]
    result = await session.execute(_INSERT, rows)
    # Ids grow in the order the rows were inserted (one statement, in the write turn), but
    # RETURNING may list them in any order: sorted, they are the rows' ids in order.
    returned = sorted((int(mid), int(cid)) for mid, cid in result)
    if [cid for _, cid in returned] != [p.conversation_id for p in planned]:
        raise RuntimeError("inserted replies came back in an unexpected order")
    await session.execute(
        _TOUCH,
        [
            {"b_id": p.conversation_id, "b_at": now, "b_text": p.request.text[:PREVIEW_CHARS]}
            for p in planned
        ],
    )
    stored: list[StoredReply] = []
    for (message_id, conversation_id), p in zip(returned, planned, strict=True):
        record(
            session,
            Event(
                events.CONVERSATION_UPDATED,
                conversation_id=conversation_id,
                customer_id=p.customer_id,
            ),
        )
        record(
            session,
            Event(
                events.MESSAGE_CREATED,
                conversation_id=conversation_id,
                customer_id=p.customer_id,
                data={"message_id": message_id},
            ),
        )
        defer_send_of(session, message_id, conversation_id)
        stored.append(
            StoredReply(message_id, conversation_id, p.customer_id, p.channel, p.request.text, now)
        )
    return stored


class ReplyWriter:
    """This process's group commit for operator replies (one per hub process)."""

    def __init__(self, db: Database, queue: QueueBackend, broker: Broker) -> None:
        self.db = db
        self.queue = queue
        self.broker = broker
        # If a batch fails as a whole (a conversation deleted meanwhile, say), each reply
        # is stored alone, so that one bad reply fails only itself.
        self._batcher: Batcher[ReplyRequest, StoredReply] = Batcher(
            "replies", self._write, max_batch=MAX_BATCH
        )
        self._turns = metrics.write_turn_seconds.labels("replies")

    async def reply(self, request: ReplyRequest) -> StoredReply:
        """Store the reply with whatever else is waiting; answers once it is committed."""
        return await self._batcher.submit(request)

    async def close(self) -> None:
        """Let the replies already taken hear whether they were stored."""
        await self._batcher.close()

    async def _write(self, requests: list[ReplyRequest]) -> list[StoredReply | HubError]:
        """One write turn and transaction for the batch; a reply that cannot go answers
        its own error."""
        async with self.db.session() as session:
            try:
                planned = await plan(session, requests)
                going = [p for p in planned if isinstance(p, _Planned)]
                stored: list[StoredReply] = []
                if going:
                    async with self.db.writing():
                        with self._turns.time():
                            stored = await store(session, going)
                            await commit_and_publish(session, self.queue, self.broker)
            except BaseException:
                discard(session)
                raise
        done = iter(stored)
        return [p if isinstance(p, HubError) else next(done) for p in planned]
