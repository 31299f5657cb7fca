"""Telegram: webhook updates in, Bot API sends out.

Replies (sendMessage, sendPhoto, sendDocument) and getUpdates polling are plain aiohttp
POSTs of the same forms aiogram would build: importing aiogram builds ~300 pydantic models
(2-3 s of CPU, +123 MB RSS), which stalled a sending process's event loop on its first
reply even from a thread (it holds the GIL), and each send through it cost twice the CPU
(docs/PERFORMANCE.md, "Telegram client"). aiogram stays for `hub telegram set-webhook`, a
one-shot command, loaded lazily in a thread there. Updates are parsed here from plain JSON.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
from functools import partial
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import urlencode

import aiohttp
from yarl import URL

if TYPE_CHECKING:
    from aiogram import Bot

from adapters.text_split import SendPart, send_parts, split_text
from hub.domain.json_input import JsonRefused, decode_json
from hub.domain.messages import (
    ContactClaim,
    DeliveryReceipt,
    InboundAttachment,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
)
from hub.domain.ports import WebhookAnswer, WebhookRequest
from hub.domain.storable import storable
from hub.domain.types import Channel
from hub.errors import InvalidInput, ProviderError

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_LIMIT = 4096  # counted by Telegram in UTF-16 code units
CAPTION_LIMIT = 1024
REQUEST_TIMEOUT = 30.0  # seconds; HUB_PROVIDER_TIMEOUT_SECONDS


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _display_name(user: dict[str, Any]) -> str | None:
    parts = [user.get("first_name"), user.get("last_name")]
    name = " ".join(str(p) for p in parts if isinstance(p, str) and p.strip())
    return name or None


# How such a character can arrive in a body json.loads accepts: a \u escape, UTF-8 bytes of
# a surrogate (decoded with surrogatepass), or UTF-16/32 (NUL bytes everywhere).
_UNSTORABLE_SOURCE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]|\x00")


# Telegram's ids fit in a signed 64-bit integer (its Bot API documents 52 significant bits).
_ID_LIMIT = 2**63


def is_id(value: object) -> TypeGuard[int]:
    """A real integer id: `True` is an `int` to isinstance, and a reply to the user id
    `True` failed in the sender; an id beyond 64 bits is no Telegram id either."""
    return type(value) is int and -_ID_LIMIT <= value < _ID_LIMIT


def parse_update(update: object, received_at: float = 0.0) -> list[InboundMessage]:
    """Customer messages in one Update: only private-chat messages count, the rest is ignored."""
    if not isinstance(update, dict):
        raise InvalidInput("a Telegram update is a JSON object")
    if not is_id(update.get("update_id")):
        raise InvalidInput("the update has no integer update_id")
    message = update.get("message")
    if not isinstance(message, dict):
        return []  # edits, reactions, callback queries, membership changes: acknowledged only
    chat, user = message.get("chat"), message.get("from")
    if not isinstance(chat, dict) or chat.get("type") != "private" or not isinstance(user, dict):
        return []
    user_id, message_id = user.get("id"), message.get("message_id")
    if not is_id(user_id) or not is_id(message_id) or user.get("is_bot"):
        return []
    if "id" in chat and not is_id(chat["id"]):
        return []
    text = message.get("text")
    if not isinstance(text, str):
        caption = message.get("caption")
        text = caption if isinstance(caption, str) else ""
    contact = _contact_claim(message.get("contact"), user_id)
    if not text:
        text = _contact_text(message.get("contact"))
    attachments = telegram_attachments(message)
    language = user.get("language_code")
    return [
        InboundMessage(
            channel=Channel.TELEGRAM,
            address=str(user_id),
            dedupe_key=f"{chat.get('id', user_id)}:{message_id}",
            external_id=str(message_id),
            text=text,
            display_name=_display_name(user),
            locale=language.split("-")[0] if isinstance(language, str) and language else None,
            contact=contact,
            received_at=received_at,
            attachments=attachments,
        )
    ]


# Message fields that carry one file, and the type Telegram gives when it names none.
_FILE_FIELDS = {
    "document": None,
    "audio": "audio/mpeg",
    "voice": "audio/ogg",
    "video": "video/mp4",
    "video_note": "video/mp4",
    "animation": "video/mp4",
    "sticker": "image/webp",
}


def telegram_attachments(message: dict[str, Any]) -> tuple[InboundAttachment, ...]:
    """The files of a message: the largest size of a photo, or its one document/voice/..."""
    found: list[InboundAttachment] = []
    photo = message.get("photo")
    if isinstance(photo, list):
        sizes = [p for p in photo if isinstance(p, dict) and isinstance(p.get("file_id"), str)]
        if sizes:
            best = max(sizes, key=lambda p: p.get("width", 0) * p.get("height", 0))
            size = best.get("file_size")
            found.append(
                InboundAttachment(
                    kind="image", ref=best["file_id"], size=size if isinstance(size, int) else None
                )
            )
    for name, default_type in _FILE_FIELDS.items():
        item = message.get(name)
        if not isinstance(item, dict) or not isinstance(item.get("file_id"), str):
            continue
        if name == "sticker" and (item.get("is_animated") or item.get("is_video")):
            continue  # Lottie and video stickers: nothing an operator could open
        mime, size, name_ = item.get("mime_type"), item.get("file_size"), item.get("file_name")
        found.append(
            InboundAttachment(
                kind=name,
                ref=item["file_id"],
                content_type=mime if isinstance(mime, str) else default_type,
                filename=name_ if isinstance(name_, str) else None,
                size=size if isinstance(size, int) else None,
            )
        )
    return tuple(found)


def _contact_claim(contact: object, sender_id: int) -> ContactClaim | None:
    """Only the sender's own card (the "share my phone" button) says who they are.

    Anyone can send someone else's card ("call my wife"): linking it would merge two people
    and let the sender read the other's orders, so it is shown as text and claims nothing.
    """
    if not isinstance(contact, dict) or not isinstance(contact.get("phone_number"), str):
        return None
    if contact.get("user_id") != sender_id:
        return None
    return ContactClaim(phone=contact["phone_number"], name=_display_name(contact), verified=True)


def _contact_text(contact: object) -> str:
    """A card has no text of its own: what the operators see of it."""
    if not isinstance(contact, dict) or not isinstance(contact.get("phone_number"), str):
        return ""
    name = _display_name(contact)
    return f"\U0001f4c7 {name}, {contact['phone_number']}" if name else contact["phone_number"]


class TelegramWebhook:
    """`POST /webhooks/telegram`: authenticated by the secret token Telegram was given."""

    name = "telegram"
    content_type: str | None = None  # any: a body that is no JSON gets 400
    refusal = "wrong secret token"
    answer = WebhookAnswer()  # 200, empty

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def verify(self, request: WebhookRequest) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    def parse(self, request: WebhookRequest, received_at: float = 0.0) -> list[InboundMessage]:
        try:
            update = decode_json(request.body)
        except JsonRefused as exc:
            raise InvalidInput(f"the body is refused: {exc}") from None
        if _UNSTORABLE_SOURCE.search(request.body):  # else nothing to replace: skip the walk
            update = storable(update)
        return parse_update(update, received_at)


def _load_aiogram() -> None:
    import aiogram.client.session.aiohttp  # noqa: F401


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _message_id(method: str, answer: dict[str, Any]) -> str:
    result = answer.get("result")
    message_id = result.get("message_id") if isinstance(result, dict) else None
    if not is_id(message_id):
        raise ProviderError(f"Telegram's {method} answer has no message_id", retryable=True)
    return str(message_id)


# Where a file goes in each send method, and the method for each kind of reply part.
_FILE_FIELD = {"sendPhoto": "photo", "sendDocument": "document"}


def _api_error(status: int, answer: dict[str, Any]) -> ProviderError:
    """A refusal, classified as aiogram's session did (429 with retry_after, 5xx and network
    faults retryable, 403 a blocked bot, the rest final), with its wording."""
    description = str(answer.get("description") or f"HTTP {status}")
    parameters = answer.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(retry_after, int) and not isinstance(retry_after, bool) and retry_after > 0:
        return ProviderError(
            f"Telegram server says - Flood control exceeded. Retry in {retry_after} seconds."
            f"\nOriginal description: {description}",
            retryable=True,
            retry_after=retry_after,
        )
    said = f"Telegram server says - {description}"
    if status >= 500:
        return ProviderError(said, retryable=True)
    if status == 403:
        return ProviderError(f"the customer blocked the bot: {said}", retryable=False)
    return ProviderError(said, retryable=False)


class TelegramSender:
    channel = Channel.TELEGRAM
    max_text_length = TEXT_LIMIT

    def __init__(self, token: str, api_url: str, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self._token = token
        self._api_url = api_url.rstrip("/")
        self.timeout = timeout  # seconds per Bot API call, HUB_PROVIDER_TIMEOUT_SECONDS
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # per Bot API method, parsed once
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._bot: Bot | None = None
        self._making_bot = asyncio.Lock()

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop that will own it. One keep-alive pool
        # for every call; the Bot API sets no cookies and its JSON is not worth compressing
        # on the way back, so neither the cookie jar nor Accept-Encoding costs a send.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=("Accept-Encoding",)
            )
        return self._session

    def _url(self, method: str) -> URL:
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = URL(f"{self._api_url}/bot{self._token}/{method}")
        return url

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def bot(self) -> Bot:
        """aiogram's Bot, for `hub telegram set-webhook`: no hot path waits on its import."""
        if self._bot is not None:
            return self._bot
        async with self._making_bot:  # concurrent first calls share one Bot (one session)
            if self._bot is None:
                await asyncio.to_thread(_load_aiogram)  # keeps the event loop serving meanwhile
                from aiogram import Bot
                from aiogram.client.session.aiohttp import AiohttpSession
                from aiogram.client.telegram import TelegramAPIServer

                session = AiohttpSession(
                    api=TelegramAPIServer.from_base(self._api_url), timeout=self.timeout
                )
                self._bot = Bot(token=self._token, session=session)
            return self._bot

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        """Each text part, then each file; a retry resumes after those already accepted."""
        files = list(message.attachments)
        chat = message.address
        # A short text rides as the first file's caption; a longer one goes first, alone.
        caption = message.text if files and _utf16_len(message.text) <= CAPTION_LIMIT else None
        parts: list[SendPart] = []
        if caption is None:
            for text in split_text(message.text, self.max_text_length, measure="utf16"):
                parts.append(partial(self._send_part, chat, text))
        for n, file in enumerate(files):
            parts.append(partial(self._send_part, chat, caption if n == 0 else None, file))
        return DeliveryReceipt(external_id=await send_parts(parts, message.progress))

    async def _send_part(
        self, chat_id: str, text: str | None, file: OutboundAttachment | None = None
    ) -> str:
        """One send* call, as the form aiogram builds: no parse_mode (text goes as is, so
        nothing is escaped), a file as multipart `attach://` upload."""
        if file is None:
            # The urlencoded body FormData would build, without its machinery per send.
            fields = {"chat_id": str(int(chat_id)), "text": text or ""}
            answer = await self._call("sendMessage", urlencode(fields).encode())
            return _message_id("sendMessage", answer)
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("chat_id", str(int(chat_id)))
        method = "sendPhoto" if file.is_image else "sendDocument"
        key = secrets.token_urlsafe(10)
        form.add_field(_FILE_FIELD[method], f"attach://{key}")
        if text:
            form.add_field("caption", text)
        form.add_field(key, file.data, filename=file.filename or key)
        answer = await self._call(method, form)
        return _message_id(method, answer)

    async def _call(
        self, method: str, form: aiohttp.FormData | bytes, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """POST one Bot API method; its answer when `ok`, else a ProviderError. Errors never
        carry the URL: it holds the bot token."""
        seconds = self.timeout if timeout is None else timeout
        try:
            async with self._http().post(
                self._url(method),
                data=form,
                headers=_FORM if isinstance(form, bytes) else None,
                timeout=self._timeout(seconds),
            ) as response:
                status, body = response.status, await response.read()
        except TimeoutError:
            raise ProviderError(
                "HTTP Client says - Request timeout error", retryable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise ProviderError(
                f"HTTP Client says - {type(exc).__name__}: {exc}", retryable=True
            ) from None
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):  # a proxy's error page, a cut answer: try again
            raise ProviderError(
                f"Telegram's {method} answer is no JSON (HTTP {status})", retryable=True
            )
        if 200 <= status <= 226 and answer.get("ok") is True:
            if _UNSTORABLE_SOURCE.search(body):  # as for webhooks: only then walk it
                answer = storable(answer)
            return answer
        raise _api_error(status, answer)

    async def poll(
        self, offset: int | None, timeout: int, received_at: float
    ) -> tuple[list[InboundMessage], int | None]:
        """Long-poll getUpdates: the customer messages and the offset to ask for next.

        Plain JSON into `parse_update`, as from the webhook (aiogram's typed Updates were
        dumped back to dicts for it); every failure is retried by the polling loop."""
        form = aiohttp.FormData(quote_fields=False)
        if offset is not None:
            form.add_field("offset", str(offset))
        form.add_field("timeout", str(timeout))
        try:
            answer = await self._call("getUpdates", form, timeout=timeout + 10)
        except ProviderError as exc:
            raise ProviderError(exc.message, retryable=True) from None
        result = answer.get("result")
        updates = [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []
        messages: list[InboundMessage] = []
        ids = [u["update_id"] for u in updates if is_id(u.get("update_id"))]
        for update in updates:
            try:
                messages += parse_update(update, received_at)
            except InvalidInput:
                continue
        return messages, max(ids) + 1 if ids else offset

    async def set_webhook(self, url: str, secret: str) -> None:
        await (await self.bot()).set_webhook(
            url=url, secret_token=secret, drop_pending_updates=False
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._bot is not None:
            await self._bot.session.close()
