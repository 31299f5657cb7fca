"""Outgoing webhooks staged with the change that caused them (a transactional outbox).

`commit_and_publish` calls `stage_webhooks` before its commit: the events the unit of work
recorded become one delivery row per interested subscription, in the same transaction, so
a delivery exists exactly when its change does. Only the row is written here; the POST
happens in the `webhooks` queue's consumer (hub.queue.webhooks), so a slow or failing
target never holds up routing. Without subscriptions this costs one indexed read, and only
for units that recorded an event a webhook may hear of.
"""

from __future__ import annotations

import json
import logging
import typing
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions import webhook_payloads as payloads
from hub.domain import events
from hub.domain.events import Event
from hub.models import WebhookDelivery, WebhookSubscription
from hub.models.base import utcnow
from hub.models.tables import core_table
from hub.queue.port import NewJob

log = logging.getLogger(__name__)
_HEARD = frozenset(events.WEBHOOK_EVENTS)
_DELIVERIES = core_table(WebhookDelivery)


@dataclass(frozen=True, slots=True)
class WebhookJob:
    """The queue entry of one delivery: its public key; the rest is read when it runs."""

    delivery: str

    def payload(self) -> str:
        return json.dumps({"delivery": self.delivery})

    @classmethod
    def read(cls, payload: str) -> WebhookJob:
        """Raises ValueError/KeyError/TypeError for what is not one of these."""
        key = json.loads(payload)["delivery"]
        if not isinstance(key, str):
            raise TypeError("delivery key is not a string")
        return cls(key)

    def queued(self, subscription_id: int, try_number: int = 0) -> NewJob:
        """One subscription's deliveries share a partition (sent in order); `try_number`
        lets the stranded-delivery sweep queue a lost job again past the dedupe key."""
        suffix = f":{try_number}" if try_number else ""
        return NewJob(
            key=f"webhook:{subscription_id}",
            payload=self.payload(),
            dedupe_key=f"webhook:{self.delivery}{suffix}",
        )


@dataclass(frozen=True, slots=True)
class _Wanted:
    """One event worth telling, de-duplicated within the unit of work (three
    `conversation.updated` of one thread in one commit are one delivery)."""

    name: str
    key: tuple[int, ...]


_KEYS = {
    events.MESSAGE_CREATED: ("message_id",),
    events.CUSTOMER_MERGED: ("survivor_id", "merged_id"),
    events.ORDER_NOTIFIED: ("order_id", "message_id"),
}


def _key(event: Event) -> tuple[int, ...] | None:
    """The ids naming what `event` tells of; None (skipped, never a failed commit: the
    change matters more than its webhook) when the event does not carry them."""
    names = _KEYS.get(event.name)
    if names is None:
        return None if event.conversation_id is None else (event.conversation_id,)
    values = [event.data.get(name) for name in names]
    if not all(isinstance(v, int) for v in values):
        log.error("event %s lacks %s: no webhook for it", event.name, names)
        return None
    return tuple(typing.cast(list[int], values))


def _wanted(recorded: Sequence[Event]) -> list[_Wanted]:
    seen: dict[_Wanted, None] = {}
    for event in recorded:
        if event.name in _HEARD:
            key = _key(event)
            if key is not None:
                seen.setdefault(_Wanted(event.name, key), None)
    return list(seen)


async def _subscribers(session: AsyncSession) -> dict[str, list[int]]:
    rows = await session.execute(
        select(col(WebhookSubscription.id), col(WebhookSubscription.events)).where(
            col(WebhookSubscription.enabled).is_(True)
        )
    )
    hearing: dict[str, list[int]] = {}
    for subscription_id, names in rows:
        assert subscription_id is not None
        for name in names.split(","):
            hearing.setdefault(name, []).append(subscription_id)
    return hearing


async def _data(session: AsyncSession, wanted: list[_Wanted]) -> dict[_Wanted, dict[str, Any]]:
    """Each event's `data`, from a few set-based reads; an object gone meanwhile is skipped."""
    message_ids = {w.key[0] for w in wanted if w.name == events.MESSAGE_CREATED}
    message_ids |= {w.key[1] for w in wanted if w.name == events.ORDER_NOTIFIED}
    messages = await payloads.messages(session, message_ids)
    conversation_ids = {w.key[0] for w in wanted if w.name.startswith("conversation.")} | {
        m["conversation_id"] for m in messages.values()
    }
    conversations = await payloads.conversations(session, conversation_ids)
    customers = await payloads.customers(
        session, {w.key[0] for w in wanted if w.name == events.CUSTOMER_MERGED}
    )
    orders = await payloads.orders(
        session, {w.key[0] for w in wanted if w.name == events.ORDER_NOTIFIED}
    )
    found: dict[_Wanted, dict[str, Any]] = {}
    for w in wanted:
        if w.name == events.MESSAGE_CREATED and w.key[0] in messages:
            message = messages[w.key[0]]
            conversation = conversations.get(message["conversation_id"])
            found[w] = {"message": message, "conversation": conversation}
        elif w.name.startswith("conversation.") and w.key[0] in conversations:
            found[w] = {"conversation": conversations[w.key[0]]}
        elif w.name == events.CUSTOMER_MERGED and w.key[0] in customers:
            found[w] = {"customer": customers[w.key[0]], "merged_customer_id": w.key[1]}
        elif w.name == events.ORDER_NOTIFIED and w.key[0] in orders:
            notice = messages.get(w.key[1])
            found[w] = {
                "order": orders[w.key[0]],
                "message": notice,
                "conversation": conversations.get(notice["conversation_id"]) if notice else None,
            }
    return found


async def stage_webhooks(session: AsyncSession, recorded: Sequence[Event]) -> list[NewJob]:
    """Write the deliveries `recorded` calls for; answer their queue entries (the caller
    queues them inside the transaction where the queue allows, else right after it)."""
    wanted = _wanted(recorded)
    if not wanted:
        return []
    hearing = await _subscribers(session)
    wanted = [w for w in wanted if hearing.get(w.name)]
    if not wanted:
        return []
    await session.flush()  # the payloads are read in Core: the ORM's changes first
    data = await _data(session, wanted)
    now = utcnow()
    rows: list[dict[str, object]] = []
    jobs: list[NewJob] = []
    for w, body in data.items():
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        for subscription_id in hearing[w.name]:
            key = str(uuid.uuid4())
            rows.append(
                {
                    "key": key,
                    "subscription_id": subscription_id,
                    "event": w.name,
                    "data": text,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
            jobs.append(WebhookJob(key).queued(subscription_id))
    if rows:
        await session.execute(insert(_DELIVERIES), rows)
    return jobs
