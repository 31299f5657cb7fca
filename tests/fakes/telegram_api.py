"""A fake Telegram Bot API server on loopback.

The hub talks to the Bot API at `HUB_TELEGRAM_API_URL` (aiohttp for replies and polling,
aiogram for `hub telegram set-webhook`), so tests run the real client code against this server
instead of patching it. It speaks the Bot API's wire format
(POST `{base}/bot{token}/{method}`, urlencoded or multipart form, values JSON-encoded;
uploads referenced as `attach://KEY`), answers with Telegram-shaped JSON, enforces the provider
rules the product must respect (text of 4096 UTF-16 units, 1024-char caption, 401 for a
wrong token, 409 for getUpdates while a webhook is set) and can inject 429/5xx answers or
dropped connections. Answer shapes and the text rule are the sandbox's Bot API
(hub/sandbox/telegram_api.py); what is here is for tests only.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from hub.sandbox.telegram_api import bot_error, bot_ok, sent_message, text_refusal
from tests.fakes.connection_faults import cut_off, drop

DEFAULT_TOKEN = "123456789:TEST-fake-token_ABCdef"
MAX_CAPTION = 1024
MAX_POLL_WAIT = 2.0  # cap on getUpdates long polling so shutdown and tests stay fast

# Values clients send as plain strings that must never be JSON-decoded ("123" stays text).
_STRING_KEYS = frozenset(
    {"text", "caption", "secret_token", "url", "file_id", "parse_mode", "ip_address",
     "business_connection_id", "message_effect_id", "emoji", "title", "description",
     "filename", "performer", "address", "first_name", "last_name", "phone_number"}
)  # fmt: skip
_JSONISH = re.compile(r"^(\{.*\}|\[.*\]|-?\d+|true|false|null)$", re.DOTALL)
_SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")


@dataclass
class UploadedFile:
    """A file uploaded in a multipart request (resolved from `attach://KEY`)."""

    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class SentMessage:
    """One successful send* call; `fields` holds every decoded request parameter."""

    method: str
    chat_id: int | str | None
    text: str | None  # `text` for sendMessage, `caption` for media
    fields: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    message_id: int = 0

    @property
    def reply_to_message_id(self) -> int | None:
        """The replied-to message, from `reply_parameters` (Bot API 7+) or the legacy field."""
        params = self.fields.get("reply_parameters")
        if isinstance(params, dict) and "message_id" in params:
            return int(params["message_id"])
        legacy = self.fields.get("reply_to_message_id")
        return int(legacy) if legacy is not None else None


@dataclass
class ApiCall:
    """Every request with a valid token, including failed and dropped ones (`status` 0)."""

    method: str
    fields: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)  # when it arrived (retry pacing)


@dataclass
class _Fault:
    status: int  # 0 = drop the connection without answering
    retry_after: int | None
    remaining: int
    hold: float = 0.0  # answer only after this long: the client times out first
    accept: bool = False  # the call takes effect first; then the answer is lost
    after: int = 0  # calls let through untouched before this fault starts


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    content: bytes


_Handler = Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[web.Response]]


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _STRING_KEYS or not _JSONISH.match(value):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _chat_number(chat_id: int | str | None) -> int:
    """Telegram chats always have integer ids; map `@username` to a stable negative one."""
    if isinstance(chat_id, int):
        return chat_id
    return -zlib.crc32(str(chat_id).encode()) - 1


class FakeTelegramAPI:
    """In-process Bot API server. `await start()` returns the base URL for the hub."""

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "hub_test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.base_url = ""
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.blocked_chats: set[int | str] = set()
        self.download_redirect: str | None = None  # file downloads answer 302 to this
        self.results: dict[str, Any] = {
            "sendChatAction": True,
            "answerCallbackQuery": True,
            "setMyCommands": True,
            "deleteMyCommands": True,
            "close": True,
            "logOut": True,
        }
        self._faults: dict[str, list[_Fault]] = {}
        self._drops_any = 0
        self._files: dict[str, _StoredFile] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Event()  # set (and replaced) on every recorded send
        self._updates_changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._handlers = self._method_table()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Listen on a free 127.0.0.1 port; return the base URL (`http://127.0.0.1:PORT`)."""
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening; pending long polls are released first."""
        self._closing = True
        self._updates_changed.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test controls

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = None,
        count: int = 1,
        *,
        after: int = 0,
    ) -> None:
        """Answer the next `count` calls of `method` with a Telegram error, once `after`
        calls went through (`after=1`: the second part of a split reply fails).

        429 always carries `parameters.retry_after` (default 1) as Telegram does. Use
        method "download" for the file download route.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = _Fault(status, retry_after, count, after=after)
        self._faults.setdefault(method.lower(), []).append(fault)

    def drop_connections(
        self, count: int = 1, method: str | None = None, *, after_accept: bool = False
    ) -> None:
        """Close the connection without answering for the next `count` calls (of `method`).

        `after_accept`: the call takes effect (a send is recorded), then the answer is cut
        off halfway through its body, as when a connection dies mid-response.
        """
        if method is None and not after_accept:
            self._drops_any += count
        elif method is None:
            raise ValueError("after_accept needs a method")
        else:
            fault = _Fault(0, None, count, accept=after_accept)
            self._faults.setdefault(method.lower(), []).append(fault)

    def hold_next(self, method: str, seconds: float, count: int = 1, *, accept: bool) -> None:
        """Answer the next `count` calls of `method` only after `seconds` (set it longer than
        the client's timeout). `accept`: the call takes effect at once and the answer is the
        real one, late (the provider did accept it); otherwise a late 504 and no effect."""
        fault = _Fault(504, None, count, hold=seconds, accept=accept)
        self._faults.setdefault(method.lower(), []).append(fault)

    def block_chat(self, chat_id: int | str) -> None:
        """Make sends to this chat fail like a user who blocked the bot (403)."""
        self.blocked_chats.add(chat_id)

    def set_result(self, method: str, result: Any) -> None:
        """Answer `method` (any not otherwise implemented) with `{"ok": true, "result": ...}`."""
        self.results[method] = result

    def add_file(self, file_id: str, content: bytes, path: str | None = None) -> str:
        """Make `file_id` resolvable by getFile and downloadable; returns the file path."""
        path = path or f"documents/{file_id}"
        self._files[file_id] = _StoredFile(file_id, f"u{file_id}"[:32], path, content)
        return path

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an Update for getUpdates (assigns `update_id` if missing); returns the id."""
        update = dict(update)
        update_id = int(update.setdefault("update_id", self._next_update_id))
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._updates.append(update)
        self._updates_changed.set()
        return update_id

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by an offset."""
        return list(self._updates)

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_for_sent(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> SentMessage:
        """First recorded send matching `predicate` (any send if None), waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed
            for msg in self.sent:
                if predicate is None or predicate(msg):
                    return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "\n".join(
                    f"  {m.method} chat_id={m.chat_id!r} text={m.text!r}" for m in self.sent
                )
                raise AssertionError(
                    f"no matching send within {timeout}s; sent so far:\n{seen or '  (nothing)'}"
                )
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ HTTP handlers

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """Decode query + JSON/urlencoded/multipart body into (fields, uploaded files)."""
        fields: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
        uploads: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                fields.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    uploads[key] = UploadedFile(value.filename, value.content_type, data)
                else:
                    fields[key] = _decode(key, value)
        return fields, uploads

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method.lower())
        while queue:
            fault = queue[0]
            if fault.remaining <= 0:
                queue.pop(0)
                continue
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.remaining -= 1
            return fault
        return None

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        return drop(request)

    def _fault_response(self, fault: _Fault) -> web.Response:
        if fault.status == 429:
            retry = fault.retry_after or 1
            return bot_error(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        descriptions = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
            504: "Gateway Timeout",
        }
        return bot_error(fault.status, descriptions.get(fault.status, "Error"))

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return bot_error(401, "Unauthorized")
        raw_method = request.match_info["method"]
        fields, uploads = await self._read_params(request)
        handler = self._handlers.get(raw_method.lower())
        method = handler[0] if handler else raw_method
        call = ApiCall(method, fields, 0)
        self.calls.append(call)
        fault = self._take_fault(method)
        if fault is None and self._drops_any > 0:
            self._drops_any -= 1
            return self._drop(request)
        if fault is not None and not fault.accept:
            if fault.hold:
                await asyncio.sleep(fault.hold)
            if fault.status == 0:
                return self._drop(request)
            call.status = fault.status
            return self._fault_response(fault)
        if handler is not None:
            response = await handler[1](fields, uploads)
        elif method in self.results:
            response = web.json_response({"ok": True, "result": self.results[method]})
        else:
            response = bot_error(404, "Not Found: method not found")
        call.status = response.status
        if fault is not None:  # accepted, but the client never hears the answer in time
            if fault.hold:
                await asyncio.sleep(fault.hold)
                return response
            return await cut_off(request, response)
        return response

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return bot_error(401, "Unauthorized")
        fault = self._take_fault("download")
        if fault is not None:
            if fault.status == 0:
                return self._drop(request)
            return web.Response(status=fault.status, text="error")
        if self.download_redirect is not None:
            raise web.HTTPFound(self.download_redirect)
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.path == path:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return bot_error(404, "Not Found")

    # ------------------------------------------------------------------ API methods

    def _method_table(self) -> dict[str, tuple[str, _Handler]]:
        """Lower-cased name -> (canonical name, handler): Telegram method names ignore case."""
        methods: dict[str, _Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_media,
            "sendDocument": self._send_media,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
            "getUpdates": self._get_updates,
        }
        return {name.lower(): (name, fn) for name, fn in methods.items()}

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Hub Test Bot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_me(self, fields: dict[str, Any], _: dict[str, UploadedFile]) -> web.Response:
        return bot_ok(self._bot_user())

    def _check_chat(self, chat_id: Any) -> web.Response | None:
        if chat_id is None or chat_id == "":
            return bot_error(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            return bot_error(403, "Forbidden: bot was blocked by the user")
        return None

    def _record(
        self, method: str, fields: dict[str, Any], text: str | None, files: dict[str, Any]
    ) -> dict[str, Any]:
        message_id = next(self._message_ids)
        chat_id = fields.get("chat_id")
        self.sent.append(SentMessage(method, chat_id, text, fields, files, message_id))
        self._changed.set()
        self._changed = asyncio.Event()
        return sent_message(message_id, _chat_number(chat_id), self._bot_user())

    async def _send_message(
        self, fields: dict[str, Any], _: dict[str, UploadedFile]
    ) -> web.Response:
        if (bad := self._check_chat(fields.get("chat_id"))) is not None:
            return bad
        text = fields.get("text")
        if (refused := text_refusal(text)) is not None:
            return refused
        assert isinstance(text, str)
        message = self._record("sendMessage", fields, text, {})
        message["text"] = text
        return bot_ok(message)

    async def _send_media(
        self, fields: dict[str, Any], uploads: dict[str, UploadedFile]
    ) -> web.Response:
        key = "photo" if "photo" in fields else "document"
        method = "sendPhoto" if key == "photo" else "sendDocument"
        if (bad := self._check_chat(fields.get("chat_id"))) is not None:
            return bad
        caption = fields.get("caption")
        if isinstance(caption, str) and len(caption) > MAX_CAPTION:
            return bot_error(400, "Bad Request: message caption is too long")
        ref = fields.get(key)
        files: dict[str, UploadedFile] = {}
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = uploads.get(ref.removeprefix("attach://"))
            if upload is None:
                return bot_error(400, f"Bad Request: file of {key} not found in the request")
            files[key] = upload
            file_id = f"F{next(self._file_ids):06d}"
            self.add_file(file_id, upload.content, f"{key}s/{upload.filename or file_id}")
            size = len(upload.content)
        elif isinstance(ref, str) and ref:
            file_id, size = ref, len(self._files[ref].content) if ref in self._files else 0
        else:
            return bot_error(400, f"Bad Request: there is no {key} in the request")
        message = self._record(method, fields, caption if isinstance(caption, str) else None, files)
        if caption:
            message["caption"] = caption
        unique = f"u{file_id}"[:32]
        if key == "photo":
            message["photo"] = [
                {"file_id": file_id, "file_unique_id": unique, "width": 90, "height": 90,
                 "file_size": size}
            ]  # fmt: skip
        else:
            upload_name = files[key].filename if key in files else None
            message["document"] = {
                "file_id": file_id,
                "file_unique_id": unique,
                "file_name": upload_name or file_id,
                "file_size": size,
            }
        return bot_ok(message)

    async def _set_webhook(
        self, fields: dict[str, Any], _: dict[str, UploadedFile]
    ) -> web.Response:
        url = str(fields.get("url") or "")
        if url and not url.startswith("https://"):
            return bot_error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = url
        secret = fields.get("secret_token")
        self.webhook_secret = str(secret) if secret else None
        if fields.get("drop_pending_updates"):
            self._updates.clear()
        return bot_ok(True)

    async def _delete_webhook(
        self, fields: dict[str, Any], _: dict[str, UploadedFile]
    ) -> web.Response:
        self.webhook_url = ""
        self.webhook_secret = None
        if fields.get("drop_pending_updates"):
            self._updates.clear()
        return bot_ok(True)

    async def _get_webhook_info(
        self, fields: dict[str, Any], _: dict[str, UploadedFile]
    ) -> web.Response:
        return bot_ok(
            {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
        )

    async def _get_file(self, fields: dict[str, Any], _: dict[str, UploadedFile]) -> web.Response:
        stored = self._files.get(str(fields.get("file_id", "")))
        if stored is None:
            return bot_error(400, "Bad Request: invalid file_id")
        return bot_ok(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content),
                "file_path": stored.path,
            }
        )

    async def _get_updates(
        self, fields: dict[str, Any], _: dict[str, UploadedFile]
    ) -> web.Response:
        if self.webhook_url:
            return bot_error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(fields.get("offset") or 0)
        limit = max(1, min(100, int(fields.get("limit") or 100)))
        wait = min(float(fields.get("timeout") or 0), MAX_POLL_WAIT)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + wait
        while not self._updates and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._updates_changed.clear()
            try:
                await asyncio.wait_for(self._updates_changed.wait(), remaining)
            except TimeoutError:
                break
        batch = sorted(self._updates, key=lambda u: int(u["update_id"]))[:limit]
        return bot_ok(batch)
