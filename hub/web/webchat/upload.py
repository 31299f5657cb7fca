"""`POST /webchat/upload`: a visitor's file, stored before the message that carries it.

Multipart, the visitor token first (a form field, never the URL: URLs land in logs),
then `file`. The token and the visitor's, the address's and the hub's upload budgets are checked
before the file is read; the file streams to disk (never whole in memory) up to the size
limit, within the address's storage quota, and its type is checked by the same rules as
every other channel.
The answer is an upload id for the `attachments` of a `message` frame. A multipart POST
without custom headers needs no CORS preflight; the answer carries the origin's
`Access-Control-Allow-Origin` so the widget on the shop's page can read it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web

from hub.actions.attachments import readable_size
from hub.domain.media import FileTooLarge, decide_type
from hub.media.incoming import receive_file
from hub.media.store import media_store
from hub.runtime.services import Hub
from hub.web.client_address import budget_key, client_address
from hub.web.keys import HUB, WEBCHAT_LIMITS
from hub.web.webchat.files import UPLOAD_SECONDS, issue_upload_id
from hub.web.webchat.limits import WebchatLimits, upload_quota
from hub.web.webchat.socket import _origin_allowed, visitor_of

UPLOAD_PATH = "/webchat/upload"
TOKEN_FIELD = "visitor_token"
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries, headers and token around the file


def _answer(request: web.Request, body: dict[str, object], status: int = 200) -> web.Response:
    response = web.json_response(body, status=status)
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(request: web.Request, status: int, code: str, message: str) -> web.Response:
    return _answer(request, {"error": {"code": code, "message": message}}, status)


async def upload(request: web.Request) -> web.StreamResponse:
    hub: Hub = request.app[HUB]
    settings = hub.settings
    if not _origin_allowed(request, settings.allowed_origins):
        return web.json_response(
            {"error": {"code": "forbidden", "message": "origin not allowed"}}, status=403
        )
    limit = settings.max_attachment_bytes
    too_large = f"the file is larger than {readable_size(limit)}"
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        return _error(request, 413, "too_large", too_large)
    if request.content_type != "multipart/form-data":
        return _error(request, 415, "invalid_form", "send multipart/form-data")
    limits = request.app[WEBCHAT_LIMITS]
    address = budget_key(client_address(request))
    try:
        reader = await request.multipart()
        first = await reader.next()
        if not isinstance(first, BodyPartReader) or first.name != TOKEN_FIELD:
            return _error(request, 400, "invalid_form", f"{TOKEN_FIELD} must come first")
        token = (await first.read_chunk(4096)).decode("utf-8", errors="replace")
        visitor_id = visitor_of(hub.secret_key, token.strip())
        if visitor_id is None:
            return _error(request, 401, "invalid_token", "the visitor token is not valid")
        wait = limits.uploads.retry_after(visitor_id, address)
        if wait is not None:
            return _limited(request, wait, "rate_limited", "too many files: try again later")
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "file" or part.filename is None:
            return _error(request, 400, "invalid_form", "send one file in the field `file`")
        return await _receive(request, part, visitor_id, address, limits)
    except ValueError:  # aiohttp: a body that is not the multipart it claims to be
        return _error(request, 400, "invalid_form", "the form could not be read")
    except ConnectionError:  # the visitor left mid-upload: nothing kept, nobody to answer
        return _error(request, 400, "invalid_form", "the upload was cut off")


def _limited(request: web.Request, wait: int, code: str, message: str) -> web.Response:
    limited = _error(request, 429, code, message)
    limited.headers["Retry-After"] = str(wait)
    return limited


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(64 * 1024):
        yield chunk


async def _receive(
    request: web.Request,
    part: BodyPartReader,
    visitor_id: str,
    address: str,
    limits: WebchatLimits,
) -> web.Response:
    """Stream the file to disk within the address's storage quota, check it, store it."""
    settings = request.app[HUB].settings
    limit = settings.max_attachment_bytes
    if limits.quota is None:
        limits.quota = upload_quota(limit, UPLOAD_SECONDS)
    declared = request.content_length
    ticket = limits.quota.reserve(address, min(limit, declared) if declared else limit)
    if ticket is None:
        wait = limits.quota.retry_after(address)
        return _limited(request, wait, "quota_exceeded", "too many files waiting: try later")
    stored = 0
    try:
        try:
            incoming = await receive_file(_chunks(part), settings.media_dir, limit)
        except FileTooLarge:
            return _error(
                request, 413, "too_large", f"the file is larger than {readable_size(limit)}"
            )
        if incoming.size == 0:
            incoming.discard()
            return _error(request, 400, "invalid_form", "the file is empty")
        content_type, reason = decide_type(
            incoming.head,
            part.headers.get("Content-Type"),
            part.filename,
            settings.allowed_attachment_types,
        )
        if content_type is None:
            incoming.discard()
            return _error(request, 415, "refused", f"this file cannot be sent: {reason}")
        await media_store(settings).put_file(incoming.path, incoming.key)
        stored = incoming.size
    finally:
        limits.quota.settle(ticket, stored)
    name = part.filename or "file"
    upload_id = issue_upload_id(
        request.app[HUB].secret_key,
        visitor_id,
        storage_key=incoming.key,
        content_type=content_type,
        filename=name[:255],
        size=incoming.size,
    )
    return _answer(
        request,
        {"upload_id": upload_id, "name": name, "content_type": content_type, "size": incoming.size},
        201,
    )


def routes() -> list[web.RouteDef]:
    """The budgets live on the application (hub.web.keys.WEBCHAT_LIMITS)."""
    return [web.post(UPLOAD_PATH, upload)]
