"""A lean Bot API for the sandbox: `POST /sandbox/providers/telegram/bot<token>/<method>`.

It answers what the hub's TelegramSender (adapters/telegram.py) calls, the way Telegram
does: urlencoded or JSON parameters in, `{"ok": true, "result": ...}` out, 401 for a wrong
token, 400 for an empty or too long text, 404 for any other method. Each accepted text is
recorded as sent to that chat. Its answer shapes (`bot_ok`, `bot_error`, `sent_message`)
and the text rule (`text_refusal`) are shared with the tests' fake Bot API
(tests/fakes/telegram_api.py).
"""

from __future__ import annotations

import hmac
import itertools
import time
from typing import Any

from aiohttp import web

from hub.sandbox.config import SANDBOX_BOT_ID
from hub.sandbox.state import SANDBOX, SandboxState

MAX_TEXT = 4096  # UTF-16 code units, as Telegram counts
_message_ids = itertools.count(1)
BOT_USER = {
    "id": SANDBOX_BOT_ID,
    "is_bot": True,
    "first_name": "Sandbox Bot",
    "username": "hub_sandbox_bot",
}


def bot_error(status: int, description: str, **parameters: Any) -> web.Response:
    """A failed call as the Bot API answers it; `parameters` (retry_after...) when given."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def bot_ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def text_refusal(text: object) -> web.Response | None:
    """Telegram's answer to a message text it refuses (empty, or over MAX_TEXT), or None."""
    if not isinstance(text, str) or not text.strip():
        return bot_error(400, "Bad Request: message text is empty")
    if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
        return bot_error(400, "Bad Request: message is too long")
    return None


def sent_message(message_id: int, chat_id: int, bot: dict[str, Any]) -> dict[str, Any]:
    """The Message a send answers with, before its content (text, caption, photo...)."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": bot,
    }


async def _params(request: web.Request) -> dict[str, str]:
    fields = {k: v for k, v in request.query.items()}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            fields.update({k: str(v) for k, v in body.items()})
    elif request.can_read_body:
        form = await request.post()
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    return fields


def _send_message(state: SandboxState, fields: dict[str, str]) -> web.Response:
    chat_id, text = fields.get("chat_id", "").strip(), fields.get("text", "")
    if not chat_id.lstrip("-").isdigit():
        return bot_error(400, "Bad Request: chat not found")
    if (refused := text_refusal(text)) is not None:
        return refused
    message_id = next(_message_ids)
    state.exchange.add("telegram", chat_id, "outbound", text, "sent", ref=str(message_id))
    return bot_ok(sent_message(message_id, int(chat_id), BOT_USER) | {"text": text})


async def bot_method(request: web.Request) -> web.Response:
    state = request.app[SANDBOX]
    token = state.settings.telegram_bot_token
    given = request.match_info["token"].encode()
    if token is None or not hmac.compare_digest(given, token.get_secret_value().encode()):
        return bot_error(401, "Unauthorized")
    method = request.match_info["method"].lower()
    fields = await _params(request)
    if method == "sendmessage":
        return _send_message(state, fields)
    if method == "getme":
        return bot_ok(BOT_USER)
    if method in ("setwebhook", "deletewebhook"):
        return bot_ok(True)  # the sandbox always delivers to the hub's own webhook
    return bot_error(404, "Not Found: method not found")


def routes(prefix: str) -> list[web.RouteDef]:
    return [web.post(prefix + "/telegram/bot{token}/{method}", bot_method)]
