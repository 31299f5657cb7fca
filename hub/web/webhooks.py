"""Provider webhooks: verify, parse, durably enqueue, answer. Nothing else on this path."""

from __future__ import annotations

import time

from aiohttp import web

from hub.actions.delivery import do_record_status
from hub.actions.unit import unit_of_work
from hub.domain.ports import WebhookRequest
from hub.domain.types import Channel
from hub.errors import BadRequest, InvalidInput, NotFound
from hub.queue.inbound import accept_inbound
from hub.registry import TwilioWebhook
from hub.web.keys import HUB


async def read_body(request: web.Request, limit: int) -> bytes:
    """413 before reading when the declared length is too big; aiohttp caps the rest."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    return await request.read()


async def telegram(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    adapter = hub.channels.telegram_webhook
    if adapter is None:
        raise NotFound("the Telegram channel is not configured", code="unknown_channel")
    body = await read_body(request, hub.settings.max_body_bytes)
    incoming = WebhookRequest(
        headers=request.headers,
        body=body,
        content_type=request.content_type,
        full_url=lambda: str(request.url),
    )
    if not adapter.verify(incoming):
        return web.json_response(
            {"error": {"code": "forbidden", "message": "wrong secret token"}}, status=403
        )
    try:
        messages = adapter.parse(incoming, received_at=time.time())
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    await accept_inbound(hub.queue, messages)
    return web.Response(status=200)


def _twiml(adapter: TwilioWebhook) -> web.Response:
    return web.Response(text=adapter.answer, content_type="text/xml")


async def _twilio_request(request: web.Request) -> tuple[WebhookRequest, TwilioWebhook]:
    """Read and verify a Twilio callback: 415 not a form, 403 bad signature, 413 too big."""
    hub = request.app[HUB]
    adapter = hub.channels.twilio_webhook
    if adapter is None:
        raise NotFound("the Twilio channels are not configured", code="unknown_channel")
    if request.content_type != "application/x-www-form-urlencoded":
        raise web.HTTPUnsupportedMediaType(text="Twilio webhooks are form-encoded")
    body = await read_body(request, hub.settings.max_body_bytes)
    base = hub.settings.base_url
    incoming = WebhookRequest(
        headers=request.headers,
        body=body,
        content_type=request.content_type,
        # Signed over the URL Twilio called: the public base, never the internal address.
        full_url=lambda: base + request.raw_path,
    )
    if not adapter.verify(incoming):
        raise web.HTTPForbidden(text="bad X-Twilio-Signature")
    return incoming, adapter


async def twilio_messages(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    incoming, adapter = await _twilio_request(request)
    try:
        messages = adapter.parse(incoming, received_at=time.time())
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    await accept_inbound(hub.queue, messages)
    return _twiml(adapter)


async def twilio_status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    incoming, adapter = await _twilio_request(request)
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
    return _twiml(adapter)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/webhooks/telegram", telegram),
        web.post("/webhooks/twilio/messages", twilio_messages),
        web.post("/webhooks/twilio/status", twilio_status),
    ]
