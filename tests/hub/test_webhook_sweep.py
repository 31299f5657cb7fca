"""Webhook deliveries are never lost nor invented: written with their change (a rollback
leaves none); a pending delivery whose queue job vanished (a crash between the commit and
a Redis enqueue) is queued again by the sweep and sent; finished deliveries older than the
retention go, with their log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from hub.actions.conversations import do_set_status, get_conversation
from hub.actions.unit import unit_of_work
from hub.domain.types import ConversationStatus
from hub.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from hub.models.base import utcnow
from hub.queue.webhook_http import WebhookSender
from hub.queue.webhooks import RetryPolicy, WebhookConsumer
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support import RunningHub, eventually
from tests.support.api import customer_writes


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"webhook_allow_loopback": True}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as fake:
        yield fake


def sweeper(hub: RunningHub) -> WebhookConsumer:
    """A consumer used only for its housekeeping (the hub's own one sends)."""
    sender = WebhookSender(timeout=1.0, allow_loopback=True)
    return WebhookConsumer(hub.hub.queue, "sweeper", hub.hub.db, sender, RetryPolicy(keep_days=7))


async def test_a_delivery_whose_job_was_lost_is_queued_again_and_sent(
    hub: RunningHub, receiver: WebhookReceiver
) -> None:
    long_ago = utcnow() - timedelta(hours=1)
    async with hub.hub.db.session() as session:
        subscription = WebhookSubscription(
            url=receiver.url("/hook"), events="conversation.created", secret="whsec_s"
        )
        session.add(subscription)
        await session.flush()
        assert subscription.id is not None
        session.add(  # written with its change, its job never queued
            WebhookDelivery(
                key="lost-1",
                subscription_id=subscription.id,
                event="conversation.created",
                data='{"conversation":null}',
                next_attempt_at=long_ago,
                created_at=long_ago,
            )
        )
        await session.commit()
    await sweeper(hub).housekeeping()

    async def sent() -> bool:
        return bool(receiver.on("/hook"))

    await eventually(sent, what="the lost delivery sent")
    [got] = receiver.on("/hook")
    assert got.json["id"] == "lost-1" and got.headers["X-Hub-Delivery"] == "lost-1"
    assert got.signed_by("whsec_s", int(utcnow().timestamp()))


async def test_finished_deliveries_past_the_retention_are_dropped_with_their_log(
    hub: RunningHub,
) -> None:
    old, recent = utcnow() - timedelta(days=8), utcnow() - timedelta(days=1)
    async with hub.hub.db.session() as session:
        subscription = WebhookSubscription(
            url="https://hooks.example.com/x", events="message.created", secret="whsec_s"
        )
        session.add(subscription)
        await session.flush()
        assert subscription.id is not None
        for key, finished in (("old", old), ("recent", recent)):
            delivery = WebhookDelivery(
                key=key,
                subscription_id=subscription.id,
                event="message.created",
                data="{}",
                status="delivered",
                attempts=1,
                finished_at=finished,
            )
            session.add(delivery)
            await session.flush()
            assert delivery.id is not None
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    subscription_id=subscription.id,
                    event="message.created",
                    attempt=1,
                    status_code=200,
                    at=finished,
                )
            )
        await session.commit()
    await sweeper(hub).housekeeping()
    async with hub.hub.db.session() as session:
        kept = (await session.scalars(select(col(WebhookDelivery.key)))).all()
        tries = (await session.scalars(select(WebhookAttempt))).all()
    assert list(kept) == ["recent"] and len(tries) == 1


async def test_a_delivery_exists_exactly_when_its_change_was_committed(
    hub: RunningHub, receiver: WebhookReceiver
) -> None:
    """Written in the change's own transaction: a rolled-back resolve leaves no delivery,
    a committed one leaves one per subscription that hears it (and only those)."""
    async with hub.hub.db.session() as session:
        for events in (
            "conversation.resolved",
            "conversation.resolved,message.created",
            "order.notified",
        ):
            session.add(
                WebhookSubscription(url=receiver.url("/x"), events=events, secret="whsec_s")
            )
        await session.commit()
    inbound = await customer_writes(hub, 7601, "hello")

    async def resolve(then_fail: bool) -> None:
        async with unit_of_work(hub.hub.db, hub.hub.queue, hub.hub.broker) as session:
            conversation = await get_conversation(session, inbound.conversation_id)
            await do_set_status(session, conversation, ConversationStatus.RESOLVED, None)
            if then_fail:
                raise RuntimeError("the change fails after the event was recorded")

    async def resolved_deliveries() -> list[WebhookDelivery]:
        async with hub.hub.db.session() as session:
            found = await session.scalars(
                select(WebhookDelivery).where(col(WebhookDelivery.event) == "conversation.resolved")
            )
            return list(found)

    with pytest.raises(RuntimeError):
        await resolve(then_fail=True)
    assert await resolved_deliveries() == []
    await resolve(then_fail=False)
    assert len(await resolved_deliveries()) == 2
