"""The web chat socket (SPEC §4 frames) and the widget script."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from aiohttp import WSMsgType, web

from hub.actions.csat import do_rate_in_widget, pending_in_widget, question_of
from hub.actions.unit import commit_and_publish
from hub.actions.webchat import (
    do_identify,
    find_by_dedupe,
    visitor_details,
    visitor_history,
    visitor_identity,
)
from hub.actions.webchat_mail import do_mark_seen
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import InboundMessage
from hub.domain.types import Channel
from hub.errors import InvalidInput, NotFound
from hub.models import CsatRating, Message
from hub.queue.inbound import accept_inbound
from hub.registry import (
    ChatMessage,
    ClientFrame,
    FrameError,
    Hello,
    Identify,
    Rate,
    Typing,
    error_frame,
    read_frame,
    said,
)
from hub.resources import static_dir
from hub.runtime.secrets import sign
from hub.runtime.services import WEBCHAT_OUTBOUND, Hub
from hub.web.client_address import budget_key, client_address
from hub.web.keys import HUB, WEBCHAT_LIMITS
from hub.web.webchat.files import frame_files, uploads_of
from hub.web.webchat.limits import ThreeWayBudget, WebchatLimits, message_budget

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
HELLO_TIMEOUT = 30.0
ACK_FALLBACK_SECONDS = 5.0
CLOSE_INVALID_TOKEN = 4401
CLOSE_RATE_LIMITED = 4429


def issue_token(key: bytes, visitor_id: str) -> str:
    return f"{visitor_id}.{sign(key, 'webchat-visitor', visitor_id)}"


def visitor_of(key: bytes, token: str) -> str | None:
    visitor_id, _, signature = token.rpartition(".")
    # Compared as bytes: compare_digest raises on non-ASCII str (a forged token is no crash).
    if not visitor_id or not hmac.compare_digest(
        signature.encode(errors="surrogatepass"), sign(key, "webchat-visitor", visitor_id).encode()
    ):
        return None
    return visitor_id


def identity_hash_valid(secret: str | None, claimed: str | None, given: str | None) -> bool:
    if not secret or not claimed or not given:
        return False
    expected = hmac.new(secret.encode(), claimed.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.lower().encode(errors="surrogatepass"))


def csat_frame(rating: CsatRating, question: Message) -> dict[str, Any]:
    """The satisfaction question as the widget shows it: its text and five star buttons
    (`rating` set once answered: the buttons then show the choice)."""
    return {
        "type": "csat",
        "id": question.id,
        "conversation_id": rating.conversation_id,
        "question": question.text,
        "rating": rating.rating,
        "created_at": question.created_at.isoformat(),
    }


def message_frame(
    message: Message, attachments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message.id,
        "sender_type": message.sender_type,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "attachments": attachments or [],
    }


class VisitorSocket:
    """One open widget: frames in, the visitor's replies out."""

    def __init__(
        self,
        hub: Hub,
        ws: web.WebSocketResponse,
        visitor_id: str,
        base_url: str | None = None,
        limiter: ThreeWayBudget | None = None,
        address: str = "unknown",
    ) -> None:
        self.hub = hub
        self.limiter = limiter or message_budget()
        self.address = address  # the client's, for the per-address budgets
        self.ws = ws
        self.visitor_id = visitor_id
        # Where the visitor reached the hub: file links in frames point there.
        self.base_url = base_url or hub.settings.base_url
        self.pending_acks: dict[str, str] = {}
        self._fallbacks: set[asyncio.Task[None]] = set()
        # The visitor has written (now or before): only then can a reply miss them, so only
        # then is their presence stamped (an anonymous page view writes nothing).
        self.known = False

    async def welcome(self) -> None:
        async with self.hub.db.session() as session:
            identity = await visitor_identity(session, self.visitor_id)
            self.known = self.known or identity is not None
            history = await visitor_history(session, identity)
            files = await frame_files(session, history, self.hub.secret_key, self.base_url)
            details = await visitor_details(session, identity)
        await self.ws.send_json(
            {
                "type": "welcome",
                "visitor_token": issue_token(self.hub.secret_key, self.visitor_id),
                "history": [message_frame(m, files.get(m.id or 0)) for m in history],
                # What this visitor saved about themselves, for the widget to remember.
                "details": details,
            }
        )
        await self.offer_rating()

    async def offer_rating(self) -> None:
        """After a (re)connect: the open satisfaction question gets its buttons back."""
        async with self.hub.db.session() as session:
            pending = await pending_in_widget(session, self.visitor_id)
            question = await session.get(Message, pending.question_id) if pending else None
        if pending is not None and question is not None:
            await self.ws.send_json(csat_frame(pending, question))

    async def on_frame(self, frame: ClientFrame | FrameError) -> None:
        if isinstance(frame, ChatMessage):
            await self.on_message(frame)
        elif isinstance(frame, Identify):
            await self.on_identify(frame)
        elif isinstance(frame, Typing):
            await self.on_typing()
        elif isinstance(frame, Hello):
            await self.welcome()
        elif isinstance(frame, Rate):
            await self.on_rate(frame)
        else:
            await self.ws.send_json(frame.frame())

    async def on_message(self, frame: ChatMessage) -> None:
        wait = self.limiter.retry_after(self.visitor_id, self.address)
        if wait is not None:  # refused before any work: nothing stored, the socket stays
            text = f"too many messages: wait {wait} s and send again"
            await self.ws.send_json({**error_frame("rate_limited", text), "retry_after": wait})
            return
        try:  # files uploaded to /webchat/upload by this very visitor
            files = uploads_of(self.hub.secret_key, self.visitor_id, frame.attachments)
        except InvalidInput as exc:
            await self.ws.send_json(error_frame("invalid_attachment", exc.message))
            return
        checked = said(frame, with_files=bool(files))
        if isinstance(checked, FrameError):
            await self.ws.send_json(checked.frame())
            return
        text, client_id = checked.text, checked.client_id
        dedupe_key = f"{self.visitor_id}:{client_id}"
        async with self.hub.db.session() as session:
            stored = await find_by_dedupe(session, dedupe_key)
        if stored is not None:  # the widget resent after a reconnect
            await self.ws.send_json({"type": "ack", "client_id": client_id, "id": stored.id})
            return
        inbound = InboundMessage(
            channel=Channel.WEBCHAT,
            address=self.visitor_id,
            dedupe_key=dedupe_key,
            text=text,
            received_at=time.time(),
            attachments=files,
        )
        self.pending_acks[dedupe_key] = client_id
        await accept_inbound(self.hub.queue, [inbound])
        self.known = True
        task = asyncio.create_task(self._ack_from_db(dedupe_key))
        self._fallbacks.add(task)
        task.add_done_callback(self._fallbacks.discard)

    def close(self) -> None:
        for task in self._fallbacks:
            task.cancel()

    async def _ack_from_db(self, dedupe_key: str) -> None:
        """Ack even if the routed event was missed (say, a Redis pub/sub hiccup)."""
        await asyncio.sleep(ACK_FALLBACK_SECONDS)
        client_id = self.pending_acks.pop(dedupe_key, None)
        if client_id is None or self.ws.closed:
            return
        async with self.hub.db.session() as session:
            stored = await find_by_dedupe(session, dedupe_key)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_json(
                {"type": "ack", "client_id": client_id, "id": stored.id if stored else None}
            )

    async def on_identify(self, frame: Identify) -> None:
        secret = self.hub.settings.webchat_hmac_secret
        claimed = frame.email or frame.phone
        verified = identity_hash_valid(
            secret.get_secret_value() if secret else None, claimed, frame.identity_hash
        )
        try:
            async with self.hub.db.session() as session:
                await do_identify(
                    session,
                    self.visitor_id,
                    name=frame.name,
                    email=frame.email,
                    phone=frame.phone,
                    verified=verified,
                )
                await commit_and_publish(session, self.hub.queue, self.hub.broker)
        except InvalidInput as exc:
            await self.ws.send_json(error_frame("invalid_identify", exc.message))
            return
        if verified:
            await self.welcome()  # the whole thread is now theirs to see

    async def on_rate(self, frame: Rate) -> None:
        """A star button: only this visitor's own open question is answered, once."""
        try:
            async with self.hub.db.session() as session:
                rating = await do_rate_in_widget(
                    session, self.visitor_id, frame.rating, frame.conversation_id
                )
                question = await session.get(Message, rating.question_id)
                await commit_and_publish(session, self.hub.queue, self.hub.broker)
        except (NotFound, InvalidInput) as exc:
            await self.ws.send_json(error_frame("csat_closed", exc.message))
            return
        if question is not None:
            await self.ws.send_json(csat_frame(rating, question))

    async def on_typing(self) -> None:
        async with self.hub.db.session() as session:
            identity = await visitor_identity(session, self.visitor_id)
        if identity is not None:
            await self.hub.broker.publish(
                [Event(events.WEBCHAT_TYPING, customer_id=identity.customer_id)]
            )

    async def on_event(self, event: Event) -> None:
        if event.name == events.MESSAGE_CREATED:
            client_id = self.pending_acks.pop(event.data.get("dedupe_key", ""), None)
            if client_id is not None:
                await self.ws.send_json(
                    {"type": "ack", "client_id": client_id, "id": event.data["message_id"]}
                )
        elif event.name == WEBCHAT_OUTBOUND and event.data.get("visitor_id") == self.visitor_id:
            async with self.hub.db.session() as session:
                message = await session.get(Message, event.data["message_id"])
                files = await frame_files(
                    session, [message] if message else [], self.hub.secret_key, self.base_url
                )
                rating = await question_of(session, message.id) if message else None
            if message is not None and rating is not None:
                await self.ws.send_json(csat_frame(rating, message))  # with its buttons
            elif message is not None:
                await self.ws.send_json(message_frame(message, files.get(message.id or 0)))
            if message is not None:  # seen live: never emailed (hub.chores.webchat_mail)
                self.known = True
                await self.mark_seen()

    async def mark_seen(self) -> None:
        """Stamp that this visitor has a socket open now (hub.actions.webchat_mail); a
        failed stamp is logged, never the socket's end: the worst is one email too many."""
        try:
            async with self.hub.db.session() as session:
                async with self.hub.db.writing():
                    await do_mark_seen(session, self.visitor_id)
                    await session.commit()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("web chat presence of %s not recorded", self.visitor_id)


def _origin_allowed(request: web.Request, allowed: set[str] | None) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or allowed is None or origin.rstrip("/") in allowed


async def _hello(
    hub: Hub, ws: web.WebSocketResponse, limits: WebchatLimits, address: str
) -> str | None:
    """The first frame names the visitor: a valid token resumes, none starts a new one
    (if the address and the hub still have room for new visitors)."""
    try:
        first = await ws.receive(timeout=HELLO_TIMEOUT)
        frame = read_frame(first.data) if first.type == WSMsgType.TEXT else None
    except TimeoutError:
        frame = None
    if not isinstance(frame, Hello):
        await ws.send_json(error_frame("hello_required", "the first frame must be hello"))
        await ws.close()
        return None
    token = frame.visitor_token
    if token is None:
        wait = limits.new_visitors.retry_after(address)
        if wait is not None:
            await _refuse(ws, wait, "too many new chats from here")
            return None
        return "v_" + secrets.token_urlsafe(16)
    visitor_id = visitor_of(hub.secret_key, token)
    if visitor_id is None:
        await ws.send_json(error_frame("invalid_token", "the visitor token is not valid"))
        await ws.close(code=CLOSE_INVALID_TOKEN, message=b"invalid token")
    return visitor_id


async def _refuse(ws: web.WebSocketResponse, wait: int, what: str) -> None:
    limited = error_frame("rate_limited", f"{what}: wait {wait} s and try again")
    await ws.send_json({**limited, "retry_after": wait})
    await ws.close(code=CLOSE_RATE_LIMITED, message=b"rate limited")


async def socket(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    limits = request.app[WEBCHAT_LIMITS]
    if not _origin_allowed(request, hub.settings.allowed_origins):
        raise web.HTTPForbidden(text="origin not allowed")
    address = budget_key(client_address(request))
    if not limits.sockets.admit(address):  # refused before the upgrade: costs nothing
        raise web.HTTPTooManyRequests(text="too many open chats", headers={"Retry-After": "5"})
    try:
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        visitor_id = await _hello(hub, ws, limits, address)
        if visitor_id is None:
            return ws
        if not limits.sockets.admit_visitor(visitor_id):
            await _refuse(ws, 1, "too many open chats")
            return ws
        try:
            return await _converse(request, ws, visitor_id, address, limits)
        finally:
            limits.sockets.leave_visitor(visitor_id)
    finally:
        limits.sockets.leave(address)


async def _converse(
    request: web.Request,
    ws: web.WebSocketResponse,
    visitor_id: str,
    address: str,
    limits: WebchatLimits,
) -> web.WebSocketResponse:
    hub = request.app[HUB]
    base_url = hub.settings.public_url or str(request.url.origin())
    visitor = VisitorSocket(hub, ws, visitor_id, base_url, limits.messages, address)
    async with hub.broker.subscribe() as subscription:
        forward = asyncio.create_task(_forward(visitor, subscription))
        try:
            await visitor.welcome()
            if visitor.known:  # what the welcome showed, and what is pushed from now on
                await visitor.mark_seen()
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    await visitor.on_frame(read_frame(msg.data))
                except ConnectionError:
                    break
                except Exception:  # one bad frame must not end the socket (nor garble it)
                    log.exception("a web chat frame failed")
                    await ws.send_json(error_frame("internal", "the frame could not be handled"))
        finally:
            visitor.close()
            forward.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forward
            # Open until now: what was pushed meanwhile was on screen.
            if visitor.known:
                await asyncio.shield(visitor.mark_seen())
    return ws


async def _forward(visitor: VisitorSocket, subscription: asyncio.Queue[Event]) -> None:
    while True:
        event = await subscription.get()
        try:
            await visitor.on_event(event)
        except (ConnectionError, RuntimeError):
            return


async def widget(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(static_dir() / "widget.js")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def routes() -> list[web.RouteDef]:
    """The budgets live on the application (hub.web.keys.WEBCHAT_LIMITS)."""
    return [web.get("/webchat/widget.js", widget), web.get("/webchat/ws", socket)]
