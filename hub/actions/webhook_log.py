"""What the webhook consumer writes: each try in the delivery log, the delivery's state,
and the housekeeping (lost jobs queued again, old finished deliveries dropped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.webhook_payloads import iso
from hub.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from hub.models.base import utcnow

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A pending delivery with what its POST needs."""

    id: int
    key: str
    subscription_id: int
    event: str
    attempts: int
    url: str
    secret: str
    body: bytes


def envelope(delivery: WebhookDelivery) -> bytes:
    """`{"id", "event", "created_at", "data"}`: the same bytes on every try."""
    head = (
        f'{{"id":"{delivery.key}","event":"{delivery.event}",'
        f'"created_at":"{iso(delivery.created_at)}","data":'
    )
    return (head + delivery.data + "}").encode()


async def load_due(session: AsyncSession, keys: list[str]) -> dict[str, DueDelivery]:
    """The still-pending deliveries among `keys` (a delivered, failed or deleted one is
    absent: its job has nothing left to do)."""
    if not keys:
        return {}
    rows = await session.execute(
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, col(WebhookSubscription.id) == WebhookDelivery.subscription_id)
        .where(col(WebhookDelivery.key).in_(keys), col(WebhookDelivery.status) == PENDING)
    )
    found: dict[str, DueDelivery] = {}
    for delivery, subscription in rows:
        assert delivery.id is not None
        found[delivery.key] = DueDelivery(
            delivery.id,
            delivery.key,
            delivery.subscription_id,
            delivery.event,
            delivery.attempts,
            subscription.url,
            subscription.secret,
            envelope(delivery),
        )
    return found


async def do_record_attempt(
    session: AsyncSession,
    due: DueDelivery,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    outcome: str,
    next_attempt_at: datetime | None,
) -> None:
    """The try in the log and the delivery's new state (`outcome`: pending means another
    try follows at `next_attempt_at`)."""
    now = utcnow()
    delivery = await session.get(WebhookDelivery, due.id)
    if delivery is None:  # deleted with its subscription meanwhile: nothing to log it on
        return
    session.add(
        WebhookAttempt(
            delivery_id=due.id,
            subscription_id=due.subscription_id,
            event=due.event,
            attempt=due.attempts + 1,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            at=now,
        )
    )
    delivery.attempts = due.attempts + 1
    delivery.status = outcome
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.next_attempt_at = next_attempt_at
    if outcome != PENDING:
        delivery.finished_at = now
    session.add(delivery)


async def stranded_deliveries(
    session: AsyncSession, overdue_seconds: float
) -> list[tuple[str, int, int]]:
    """(key, subscription, attempts) of pending deliveries long past their due time: their
    job was lost (a crash between commit and a Redis enqueue)."""
    rows = await session.execute(
        select(
            col(WebhookDelivery.key),
            col(WebhookDelivery.subscription_id),
            col(WebhookDelivery.attempts),
        )
        .where(
            col(WebhookDelivery.status) == PENDING,
            col(WebhookDelivery.next_attempt_at) < utcnow() - timedelta(seconds=overdue_seconds),
        )
        .limit(500)
    )
    return [(key, sid, attempts) for key, sid, attempts in rows]


async def do_prune(session: AsyncSession, keep_days: float) -> None:
    """Finished deliveries older than `keep_days` go, with their tries."""
    old = (
        select(col(WebhookDelivery.id))
        .where(
            col(WebhookDelivery.status) != PENDING,
            col(WebhookDelivery.finished_at) < utcnow() - timedelta(days=keep_days),
        )
        .limit(5000)
    )
    ids = list(await session.scalars(old))
    if ids:
        await session.execute(
            delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids))
        )
        await session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.id).in_(ids)))
