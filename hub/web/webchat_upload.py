"""`POST /webchat/upload`: a visitor's file, stored before the message that carries it.

Multipart, the visitor token first (a form field, never the URL: URLs land in logs),
then `file`. The token is checked before the file is read, the file is read as a stream
up to the size limit and its type checked by the same rules as every other channel.
The answer is an upload id for the `attachments` of a `message` frame. A multipart POST
without custom headers needs no CORS preflight; the answer carries the origin's
`Access-Control-Allow-Origin` so the widget on the shop's page can read it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from hub.actions.attachments import readable_size
from hub.domain.media import decide_type
from hub.media import media_store
from hub.services import Hub
from hub.web.keys import HUB
from hub.web.webchat import _origin_allowed, visitor_of
from hub.web.webchat_files import issue_upload_id

UPLOAD_PATH = "/webchat/upload"
TOKEN_FIELD = "visitor_token"
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries, headers and token around the file


@dataclass
class UploadLimiter:
    """Uploads per visitor in a sliding window (per process): each costs disk and up to
    the size limit in memory, so a script holding one token cannot fill the media store."""

    per_window: int = 20
    window: float = 600.0
    seen: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, visitor_id: str, now: float | None = None) -> int | None:
        """None (and the upload counted) when allowed; else seconds until it would be."""
        now = time.monotonic() if now is None else now
        if len(self.seen) > 10_000:  # forget visitors who went quiet
            for key in [k for k, v in self.seen.items() if v[-1] <= now - self.window]:
                del self.seen[key]
        times = self.seen.setdefault(visitor_id, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.per_window:
            return max(1, int(times[0] + self.window - now) + 1)
        times.append(now)
        return None


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


async def upload(request: web.Request, limiter: UploadLimiter) -> web.StreamResponse:
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
    try:
        reader = await request.multipart()
        first = await reader.next()
        if not isinstance(first, BodyPartReader) or first.name != TOKEN_FIELD:
            return _error(request, 400, "invalid_form", f"{TOKEN_FIELD} must come first")
        token = (await first.read_chunk(4096)).decode("utf-8", errors="replace")
        visitor_id = visitor_of(hub.secret_key, token.strip())
        if visitor_id is None:
            return _error(request, 401, "invalid_token", "the visitor token is not valid")
        wait = limiter.retry_after(visitor_id)
        if wait is not None:
            limited = _error(request, 429, "rate_limited", "too many files: try again later")
            limited.headers["Retry-After"] = str(wait)
            return limited
        part = await reader.next()
        if not isinstance(part, BodyPartReader) or part.name != "file" or part.filename is None:
            return _error(request, 400, "invalid_form", "send one file in the field `file`")
        data = bytearray()
        while chunk := await part.read_chunk(64 * 1024):
            data += chunk
            if len(data) > limit:
                return _error(request, 413, "too_large", too_large)
    except ValueError:  # aiohttp: a body that is not the multipart it claims to be
        return _error(request, 400, "invalid_form", "the form could not be read")
    if not data:
        return _error(request, 400, "invalid_form", "the file is empty")
    content_type, reason = decide_type(
        bytes(data),
        part.headers.get("Content-Type"),
        part.filename,
        settings.allowed_attachment_types,
    )
    if content_type is None:
        return _error(request, 415, "refused", f"this file cannot be sent: {reason}")
    key = await media_store(settings).put(bytes(data))
    name = part.filename or "file"
    upload_id = issue_upload_id(
        hub.secret_key,
        visitor_id,
        storage_key=key,
        content_type=content_type,
        filename=name[:255],
        size=len(data),
    )
    return _answer(
        request,
        {"upload_id": upload_id, "name": name, "content_type": content_type, "size": len(data)},
        201,
    )


def routes(limiter: UploadLimiter | None = None) -> list[web.RouteDef]:
    """Called once per application: each gets its own limiter."""
    budget = limiter or UploadLimiter()

    async def handle(request: web.Request) -> web.StreamResponse:
        return await upload(request, budget)

    return [web.post(UPLOAD_PATH, handle)]
