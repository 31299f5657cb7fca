"""Provider webhooks: verify, parse, durably enqueue, answer. Nothing else on this path.

One view serves `POST /webhooks/{name}` for every webhook adapter (`hub.registry.WEBHOOKS`);
what differs between providers (body type, refusal, answer) is data on the adapter
(`hub.domain.ports.WebhookAdapter`). Twilio's delivery-status callbacks are the one other
endpoint: signed the same way, they change a stored message instead of bringing one.
"""

from __future__ import annotations

import re
import time

from aiohttp import web

from hub.actions.delivery import do_record_status
from hub.actions.unit import unit_of_work
from hub.domain.ports import WebhookAdapter, WebhookRequest
from hub.domain.types import Channel
from hub.errors import AccessDenied, BadRequest, InvalidInput, NotFound
from hub.queue.inbound import accept_inbound
from hub.registry import WEBHOOKS, TwilioWebhook
from hub.web.keys import HUB


async def read_body(request: web.Request, limit: int) -> bytes:
    """413 before reading when the declared length is too big; aiohttp caps the rest."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    return await request.read()


async def _verified(request: web.Request, adapter: WebhookAdapter) -> WebhookRequest:
    """The request as its adapter checks it: 415 a body type the provider never sends
    (before reading), 413 too big, 403 failing the adapter's `verify`."""
    hub = request.app[HUB]
    if adapter.content_type is not None and request.content_type != adapter.content_type:
        raise web.HTTPUnsupportedMediaType(text=f"this webhook takes {adapter.content_type}")
    body = await read_body(request, hub.settings.max_body_bytes)
    base = hub.settings.base_url
    incoming = WebhookRequest(
        headers=request.headers,
        body=body,
        content_type=request.content_type,
        # Signatures over the URL are over the one the provider called: the public base,
        # never the internal address.
        full_url=lambda: base + request.raw_path,
    )
    if not adapter.verify(incoming):
        raise AccessDenied(adapter.refusal)
    return incoming


def _answer(adapter: WebhookAdapter) -> web.Response:
    answer = adapter.answer
    if answer.body is None:
        return web.Response(status=200)
    return web.Response(text=answer.body, content_type=answer.content_type)


async def inbound(request: web.Request) -> web.Response:
    """`POST /webhooks/{name}`: customer messages from any webhook channel."""
    hub = request.app[HUB]
    name = request.match_info["name"]
    adapter = hub.channels.webhooks.get(name)
    if adapter is None:
        raise NotFound(WEBHOOKS[name], code="unknown_channel")
    incoming = await _verified(request, adapter)
    try:
        messages = adapter.parse(incoming, received_at=time.time())
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    await accept_inbound(hub.queue, messages)
    return _answer(adapter)


async def twilio_status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    adapter = hub.channels.twilio_status
    if adapter is None:
        raise NotFound(WEBHOOKS[TwilioWebhook.name], code="unknown_channel")
    incoming = await _verified(request, adapter)
    try:
        update = adapter.parse_status(incoming)
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if update is not None:
        async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
            await do_record_status(
                session,
                [Channel.SMS.value, Channel.WHATSAPP.value],
                update.external_id,
                update.status,
                update.error,
                message_id=update.message_id,
            )
    return _answer(adapter)


def routes() -> list[web.RouteDef]:
    names = "|".join(re.escape(name) for name in WEBHOOKS)
    return [
        web.post("/webhooks/twilio/status", twilio_status),
        web.post(f"/webhooks/{{name:{names}}}", inbound),
    ]
