"""The admin page's webhooks: add a URL with its events (the secret is shown on the
answer page, once), turn one off or on, rotate its secret, delete it, and read each one's
delivery log (the latest tries: status code, error, duration, time)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from hub.actions import webhooks
from hub.actions.unit import unit_of_work
from hub.domain.events import WEBHOOK_EVENTS
from hub.errors import HubError, Unauthorized
from hub.models import WebhookSubscription
from hub.web import sessions
from hub.web.api.calls import path_id
from hub.web.inbox.common import action, failure, hub_of, page, render
from hub.web.sessions import SignedIn

WEBHOOKS = "/inbox/admin/webhooks"


async def _render(
    request: web.Request, me: SignedIn, shown: WebhookSubscription | None = None
) -> web.Response:
    """The page; `shown` is a subscription whose new secret this answer shows, once."""
    async with hub_of(request).db.session() as session:
        rows = await webhooks.list_subscriptions(session)
        counts = await webhooks.delivery_counts(session)
        log = await webhooks.recent_attempts(session, [r.id for r in rows if r.id is not None])
    return await render(
        request,
        "inbox/webhooks.html",
        me=me,
        hooks=rows,
        counts=counts,
        empty=webhooks.DeliveryCounts(),
        log=log,
        known_events=WEBHOOK_EVENTS,
        shown=shown,
    )


@page
async def webhooks_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    webhooks.access_webhooks(me.operator)
    return await _render(request, me)


ShowsSecret = Callable[[web.Request, SignedIn, MultiDictProxy[str]], Awaitable[WebhookSubscription]]


def shows_secret(view: ShowsSecret) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A form post (signed in, CSRF checked, as `action`) whose answer is the page itself,
    showing the subscription's new secret: a redirect could not carry it, and it is never
    shown again."""

    async def handle(request: web.Request) -> web.StreamResponse:
        me = await sessions.current(request)
        if me is None:
            raise Unauthorized("sign in first")
        form = await request.post()
        token = form.get("csrf")
        sessions.check_csrf(request, me, token if isinstance(token, str) else None)
        fields = MultiDictProxy(MultiDict((k, v) for k, v in form.items() if isinstance(v, str)))
        try:
            webhooks.access_webhooks(me.operator)
            shown = await view(request, me, fields)
        except HubError as exc:
            return await failure(request, me, exc)
        return await _render(request, me, shown=shown)

    handle.__name__ = view.__name__
    return handle


@shows_secret
async def create_webhook(
    request: web.Request, me: SignedIn, form: MultiDictProxy[str]
) -> WebhookSubscription:
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        return await webhooks.do_create_subscription(
            session,
            form.get("url", ""),
            form.getall("events", []),
            allow_loopback=hub.settings.webhook_allow_loopback,
        )


@shows_secret
async def rotate_secret(
    request: web.Request, me: SignedIn, form: MultiDictProxy[str]
) -> WebhookSubscription:
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        row = await webhooks.get_subscription(session, path_id(request.match_info["id"]))
        webhooks.do_rotate_secret(session, row)
    return row


@action
async def switch(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    webhooks.access_webhooks(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        row = await webhooks.get_subscription(session, path_id(request.match_info["id"]))
        webhooks.do_set_enabled(session, row, form.get("enabled") == "1")
    return WEBHOOKS


@action
async def delete(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    webhooks.access_webhooks(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await webhooks.do_delete_subscription(session, path_id(request.match_info["id"]))
    return WEBHOOKS
