"""Outgoing webhook subscriptions (admins only): list, add (the secret shown once),
enable/disable, rotate the secret, delete, and each one's delivery log."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from hub.actions import webhooks
from hub.actions.unit import unit_of_work
from hub.models import WebhookDelivery, WebhookSubscription
from hub.web.api.calls import Call, Reply
from hub.web.api.spec import ApiRoute
from hub.web.api.webhook_schemas import (
    AttemptOut,
    AttemptPage,
    DeliveryCountsOut,
    RotateBody,
    WebhookBody,
    WebhookOut,
    WebhookPage,
    WebhookSecretOut,
)


def webhook_out(row: WebhookSubscription, counts: webhooks.DeliveryCounts) -> WebhookOut:
    return WebhookOut.model_validate(
        {
            "id": row.id,
            "url": row.url,
            "events": row.event_names,
            "enabled": row.enabled,
            "created_at": row.created_at,
            "deliveries": DeliveryCountsOut(
                pending=counts.pending, delivered=counts.delivered, failed=counts.failed
            ),
        }
    )


def with_secret(row: WebhookSubscription, counts: webhooks.DeliveryCounts) -> WebhookSecretOut:
    return WebhookSecretOut(**webhook_out(row, counts).model_dump(), secret=row.secret)


async def list_webhooks(call: Call) -> WebhookPage:
    webhooks.access_webhooks(call.me)
    async with call.hub.db.session() as session:
        rows = await webhooks.list_subscriptions(session)
        counts = await webhooks.delivery_counts(session)
    empty = webhooks.DeliveryCounts()
    return WebhookPage(
        items=[webhook_out(row, counts.get(row.id or 0, empty)) for row in rows],
        next_cursor=None,
    )


async def create_webhook(call: Call) -> Reply:
    body = call.body_as(WebhookBody)
    webhooks.access_webhooks(call.me)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        row = await webhooks.do_create_subscription(
            session,
            body.url,
            body.events,
            allow_loopback=call.hub.settings.webhook_allow_loopback,
        )
        webhooks.do_set_enabled(session, row, body.enabled)
    return Reply(with_secret(row, webhooks.DeliveryCounts()), 201)


async def update_webhook(call: Call) -> WebhookOut:
    body = call.body_as(WebhookBody)
    webhooks.access_webhooks(call.me)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        row = await webhooks.get_subscription(session, call.id())
        await webhooks.do_update_subscription(
            session,
            row,
            body.url,
            body.events,
            enabled=body.enabled,
            allow_loopback=call.hub.settings.webhook_allow_loopback,
        )
        counts = await webhooks.delivery_counts(session)
    return webhook_out(row, counts.get(call.id(), webhooks.DeliveryCounts()))


async def rotate_webhook_secret(call: Call) -> WebhookSecretOut:
    webhooks.access_webhooks(call.me)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        row = await webhooks.get_subscription(session, call.id())
        webhooks.do_rotate_secret(session, row)
        counts = await webhooks.delivery_counts(session)
    return with_secret(row, counts.get(call.id(), webhooks.DeliveryCounts()))


async def delete_webhook(call: Call) -> WebhookOut:
    webhooks.access_webhooks(call.me)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        row = await webhooks.get_subscription(session, call.id())
        gone = webhook_out(row, webhooks.DeliveryCounts())
        await webhooks.do_delete_subscription(session, call.id())
    return gone


async def webhook_attempts(call: Call) -> AttemptPage:
    webhooks.access_webhooks(call.me)
    async with call.hub.db.session() as session:
        await webhooks.get_subscription(session, call.id())
        tries = (await webhooks.recent_attempts(session, [call.id()], limit=100))[call.id()]
        keys = dict(
            (
                await session.execute(
                    select(col(WebhookDelivery.id), col(WebhookDelivery.key)).where(
                        col(WebhookDelivery.id).in_({t.delivery_id for t in tries})
                    )
                )
            ).all()
        )
    return AttemptPage(
        items=[
            AttemptOut.model_validate(
                {
                    "delivery_id": keys.get(t.delivery_id, ""),
                    "event": t.event,
                    "attempt": t.attempt,
                    "status_code": t.status_code,
                    "error": t.error,
                    "duration_ms": t.duration_ms,
                    "at": t.at,
                }
            )
            for t in tries
        ],
        next_cursor=None,
    )


_TAGS = ("webhooks",)
_ADMIN = " (admins only: 403 for agents)"
ROUTES = [
    ApiRoute(
        "GET",
        "/webhooks",
        list_webhooks,
        "List outgoing webhook subscriptions" + _ADMIN,
        WebhookPage,
        errors=(403,),
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/webhooks",
        create_webhook,
        "Subscribe a URL to events; the answer carries its signing secret, shown once" + _ADMIN,
        WebhookSecretOut,
        status=201,
        body=WebhookBody,
        errors=(403,),
        tags=_TAGS,
    ),
    ApiRoute(
        "DELETE",
        "/webhooks/{id}",
        delete_webhook,
        "Delete a subscription with its deliveries and log; answers what was deleted" + _ADMIN,
        WebhookOut,
        errors=(403,),
        tags=_TAGS,
    ),
    ApiRoute(
        "PUT",
        "/webhooks/{id}",
        update_webhook,
        "Change a subscription's URL, events or `enabled` (off: new events are not queued "
        "for it); the secret stays" + _ADMIN,
        WebhookOut,
        body=WebhookBody,
        errors=(403,),
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/webhooks/{id}/rotate-secret",
        rotate_webhook_secret,
        "A new signing secret, shown once, used from the next try on" + _ADMIN,
        WebhookSecretOut,
        body=RotateBody,
        errors=(403,),
        tags=_TAGS,
    ),
    ApiRoute(
        "GET",
        "/webhooks/{id}/attempts",
        webhook_attempts,
        "The delivery log: the latest tries, newest first" + _ADMIN,
        AttemptPage,
        errors=(403,),
        tags=_TAGS,
    ),
]
