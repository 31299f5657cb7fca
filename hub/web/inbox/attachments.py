"""Serving attachments: to signed-in operators, and by signed expiring links.

Every answer is a download the browser must not reinterpret: `nosniff`, a sandboxing CSP,
and `Content-Disposition: attachment` except for the image types shown inline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from multidict import MultiDict, MultiDictProxy

from hub.actions.attachments import get_attachment, readable_size
from hub.domain.media import INLINE_IMAGES, AttachmentStatus, decide_type
from hub.errors import InvalidInput, NotFound, Unauthorized
from hub.media.store import link_valid, media_store
from hub.models import Attachment
from hub.runtime.services import Hub
from hub.web import sessions
from hub.web.api.calls import path_id
from hub.web.inbox.common import View, answer_form, failure, hub_of, page
from hub.web.keys import HUB
from hub.web.sessions import SignedIn
from hub.web.webchat import upload as webchat_upload

INBOX_PATH = "/inbox/attachments/{id}"
PUBLIC_PATH = "/media/{id}/{expires}/{signature}"


def _disposition(attachment: Attachment, inline: bool) -> str:
    name = attachment.filename or f"attachment-{attachment.id}"
    ascii_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in name)[:100]
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def file_response(request: web.Request, attachment: Attachment) -> web.Response:
    if attachment.status != AttachmentStatus.STORED or attachment.storage_key is None:
        raise NotFound(f"the file is not available ({attachment.status})")
    data = await media_store(request.app[HUB].settings).read(attachment.storage_key)
    content_type = attachment.content_type or "application/octet-stream"
    inline = content_type in INLINE_IMAGES
    response = web.Response(body=data, content_type=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Content-Disposition"] = _disposition(attachment, inline)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@page
async def operator_file(request: web.Request, me: SignedIn) -> web.StreamResponse:
    """Any signed-in operator may open any conversation, so any of its files."""
    async with hub_of(request).db.session() as session:
        attachment = await get_attachment(session, path_id(request.match_info["id"]))
    return await file_response(request, attachment)


async def signed_file(request: web.Request) -> web.StreamResponse:
    """A link the hub signed for a provider that fetches media itself (Twilio)."""
    hub = request.app[HUB]
    attachment_id = path_id(request.match_info["id"])
    expires = request.match_info["expires"]
    if not expires.isdigit() or not link_valid(
        hub.secret_key, attachment_id, int(expires), request.match_info["signature"]
    ):
        raise NotFound("no such file")  # never says whether the id exists
    async with hub.db.session() as session:
        attachment = await get_attachment(session, attachment_id)
    return await file_response(request, attachment)


def routes() -> list[web.RouteDef]:
    return [
        web.get(INBOX_PATH, operator_file),
        web.get(PUBLIC_PATH, signed_file),
        *webchat_upload.routes(),
    ]


# ------------------------------------------------------------------ operators' uploads

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 20


@dataclass(frozen=True, slots=True)
class Upload:
    """A file an operator attached, already in the media store."""

    storage_key: str
    content_type: str
    filename: str
    size: int


async def _read_part(part: BodyPartReader, limit: int, what: str) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise InvalidInput(f"{what} is larger than {readable_size(limit)}")
    return bytes(data)


async def read_upload_form(
    request: web.Request,
    hub: Hub,
    accept: Callable[[MultiDict[str]], None],
    file_field: str = "file",
) -> tuple[MultiDict[str], Upload | None]:
    """A multipart form read as a stream (never whole into memory past the limits): its
    text fields, and its file, stored only once the size and type checks passed and
    `accept` (the CSRF check) let the whole form through."""
    settings = hub.settings
    fields: MultiDict[str] = MultiDict()
    pending: tuple[bytes, str, str] | None = None
    reader = await request.multipart()
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.name != file_field or part.filename is None:
            raw = await _read_part(part, MAX_FIELD_BYTES, f"the field {part.name}")
            fields.add(part.name, raw.decode("utf-8", errors="replace"))
            continue
        data = await _read_part(part, settings.max_attachment_bytes, "the file")
        if not data and not part.filename:
            continue  # the file input left empty
        claimed = part.headers.get("Content-Type")
        content_type, reason = decide_type(
            data, claimed, part.filename, settings.allowed_attachment_types
        )
        if content_type is None:
            raise InvalidInput(f"this file cannot be sent: {reason}")
        pending = (data, content_type, part.filename or "file")
    accept(fields)
    if pending is None:
        return fields, None
    data, content_type, filename = pending
    key = await media_store(settings).put(data)
    return fields, Upload(key, content_type, filename, len(data))


UploadView = Callable[[web.Request, SignedIn, MultiDictProxy[str], "Upload | None"], Awaitable[str]]


def upload_action(view: UploadView) -> View:
    """Like the inbox's form `action`, for a multipart form that may carry a file."""

    async def handle(request: web.Request) -> web.StreamResponse:
        me = await sessions.current(request)
        if me is None:
            raise Unauthorized("sign in first")

        def csrf_checked(fields: MultiDict[str]) -> None:
            sessions.check_csrf(request, me, fields.get("csrf"))

        try:
            fields, upload = await read_upload_form(request, hub_of(request), csrf_checked)
        except InvalidInput as exc:
            return await failure(request, me, exc)
        return await answer_form(request, me, view(request, me, MultiDictProxy(fields), upload))

    handle.__name__ = view.__name__
    return handle
