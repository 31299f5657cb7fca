"""Webhook subscriptions: an admin adds a URL and the events it hears, gets a secret once,
turns it off and on, rotates the secret, deletes it (with its deliveries and their log)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.events import WEBHOOK_EVENTS
from hub.domain.types import OperatorRole
from hub.domain.webhook_targets import check_target_url
from hub.errors import AccessDenied, InvalidInput, NotFound
from hub.models import Operator, WebhookAttempt, WebhookDelivery, WebhookSubscription

SECRET_PREFIX = "whsec_"
MAX_SUBSCRIPTIONS = 50
LOG_ROWS = 20


def access_webhooks(operator: Operator) -> None:
    """Webhooks send the shop's conversations elsewhere: admins only."""
    if operator.role != OperatorRole.ADMIN:
        raise AccessDenied("only an admin can manage webhooks")


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_events(names: Iterable[str]) -> list[str]:
    """The chosen events in the one documented order; an unknown name is refused."""
    chosen = {name.strip() for name in names if name.strip()}
    unknown = sorted(chosen - set(WEBHOOK_EVENTS))
    if unknown:
        raise InvalidInput(f"unknown event {unknown[0]!r}; known: {', '.join(WEBHOOK_EVENTS)}")
    if not chosen:
        raise InvalidInput("choose at least one event")
    return [name for name in WEBHOOK_EVENTS if name in chosen]


async def do_create_subscription(
    session: AsyncSession, url: str, events: Iterable[str], *, allow_loopback: bool
) -> WebhookSubscription:
    """The new subscription; its `secret` is for the caller to show once."""
    target = check_target_url(url, allow_loopback=allow_loopback)
    chosen = check_events(events)
    count = await session.scalar(select(func.count()).select_from(WebhookSubscription))
    if (count or 0) >= MAX_SUBSCRIPTIONS:
        raise InvalidInput(f"at most {MAX_SUBSCRIPTIONS} webhooks")
    subscription = WebhookSubscription(url=target, events=",".join(chosen), secret=new_secret())
    session.add(subscription)
    await session.flush()
    return subscription


async def do_update_subscription(
    session: AsyncSession,
    subscription: WebhookSubscription,
    url: str,
    events: Iterable[str],
    *,
    enabled: bool,
    allow_loopback: bool,
) -> None:
    """A new URL, events or state; the secret stays (rotate it on its own)."""
    subscription.url = check_target_url(url, allow_loopback=allow_loopback)
    subscription.events = ",".join(check_events(events))
    subscription.enabled = enabled
    session.add(subscription)


async def get_subscription(session: AsyncSession, subscription_id: int) -> WebhookSubscription:
    found = await session.get(WebhookSubscription, subscription_id)
    if found is None:
        raise NotFound(f"webhook {subscription_id} not found")
    return found


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    rows = await session.scalars(select(WebhookSubscription).order_by(col(WebhookSubscription.id)))
    return list(rows)


def do_set_enabled(session: AsyncSession, subscription: WebhookSubscription, on: bool) -> None:
    """Off: new events are not queued for it; deliveries already queued still go."""
    subscription.enabled = on
    session.add(subscription)


def do_rotate_secret(session: AsyncSession, subscription: WebhookSubscription) -> str:
    """A new secret, effective for every try from now on (queued ones included)."""
    subscription.secret = new_secret()
    session.add(subscription)
    return subscription.secret


async def do_delete_subscription(session: AsyncSession, subscription_id: int) -> None:
    """Gone with its deliveries and their log; a queued job then finds nothing to send."""
    await get_subscription(session, subscription_id)
    await session.execute(
        delete(WebhookAttempt).where(col(WebhookAttempt.subscription_id) == subscription_id)
    )
    await session.execute(
        delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
    )
    await session.execute(
        delete(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id)
    )


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int = 0
    delivered: int = 0
    failed: int = 0


async def delivery_counts(session: AsyncSession) -> dict[int, DeliveryCounts]:
    rows = await session.execute(
        select(
            col(WebhookDelivery.subscription_id), col(WebhookDelivery.status), func.count()
        ).group_by(col(WebhookDelivery.subscription_id), col(WebhookDelivery.status))
    )
    counts: dict[int, dict[str, int]] = {}
    for subscription_id, status, number in rows:
        counts.setdefault(subscription_id, {})[status] = number
    return {sid: DeliveryCounts(**by_status) for sid, by_status in counts.items()}


async def recent_attempts(
    session: AsyncSession, subscription_ids: Sequence[int], limit: int = LOG_ROWS
) -> dict[int, list[WebhookAttempt]]:
    """The delivery log: each subscription's latest tries, newest first."""
    found: dict[int, list[WebhookAttempt]] = {sid: [] for sid in subscription_ids}
    for sid in subscription_ids:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.subscription_id) == sid)
            .order_by(col(WebhookAttempt.id).desc())
            .limit(limit)
        )
        found[sid] = list(rows)
    return found
