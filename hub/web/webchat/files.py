"""Web chat files: upload ids a visitor can spend in a `message` frame, and the files a
frame shows.

An upload id is stateless: the stored file's key, type, name and size, the visitor it was
issued to and an expiry, signed with the hub's key. So nothing is written for a file that
is never sent, any process can check an id, and one visitor can never send (and so
never see) a file another visitor uploaded: the id names its visitor.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.attachments import STORED_PREFIX, attachments_of
from hub.domain.media import AttachmentStatus, kind_of
from hub.domain.messages import InboundAttachment
from hub.errors import InvalidInput
from hub.media.store import signed_link
from hub.models import Message
from hub.runtime.secrets import sign

# An upload must be sent within 20 minutes: files never sent are swept within the hour
# (hub.chores.media_sweep), so a stranger's uploads cannot pile up on disk for days.
UPLOAD_SECONDS = 20 * 60
MAX_FILES_PER_MESSAGE = 10
_PURPOSE = "webchat-upload"


def issue_upload_id(
    key: bytes,
    visitor_id: str,
    *,
    storage_key: str,
    content_type: str,
    filename: str,
    size: int,
    now: float | None = None,
) -> str:
    expires = int((now if now is not None else time.time()) + UPLOAD_SECONDS)
    payload = json.dumps(
        [visitor_id, storage_key, content_type, filename, size, expires],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{encoded}.{sign(key, _PURPOSE, encoded)}"


def upload_of(key: bytes, visitor_id: str, upload_id: Any) -> InboundAttachment:
    """The file an upload id names, if this visitor was given it and it has not expired."""
    if not isinstance(upload_id, str) or len(upload_id) > 2000:
        raise InvalidInput("attachments are upload ids from /webchat/upload")
    encoded, _, signature = upload_id.rpartition(".")
    if not encoded or not hmac.compare_digest(  # bytes: non-ASCII str would raise
        signature.encode(errors="surrogatepass"), sign(key, _PURPOSE, encoded).encode()
    ):
        raise InvalidInput("that upload id is not valid")
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    owner, storage_key, content_type, filename, size, expires = payload
    if owner != visitor_id:
        raise InvalidInput("that upload id is not valid")  # never says whose it is
    if expires < time.time():
        raise InvalidInput("that upload has expired: attach the file again")
    return InboundAttachment(
        kind=kind_of(content_type),
        ref=STORED_PREFIX + storage_key,
        content_type=content_type,
        filename=filename,
        size=size,
    )


def uploads_of(key: bytes, visitor_id: str, raw: Any) -> tuple[InboundAttachment, ...]:
    """A message frame's `attachments` (absent or a list of upload ids), checked."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_FILES_PER_MESSAGE:
        raise InvalidInput(f"attachments is a list of at most {MAX_FILES_PER_MESSAGE} upload ids")
    return tuple(upload_of(key, visitor_id, item) for item in raw)


async def frame_files(
    session: AsyncSession, messages: Sequence[Message], key: bytes, base_url: str
) -> dict[int, list[dict[str, Any]]]:
    """Each message's stored files as frames show them, each with a signed, expiring link
    (the widget shows it in an <img> or a link, where no token can be sent)."""
    found = await attachments_of(session, [m.id for m in messages if m.id is not None])
    shown: dict[int, list[dict[str, Any]]] = {}
    for message_id, files in found.items():
        shown[message_id] = [
            {
                "name": f.filename or "file",
                "content_type": f.content_type or "application/octet-stream",
                "size": f.size,
                "url": signed_link(key, base_url, f.id or 0),
            }
            for f in files
            if f.status == AttachmentStatus.STORED and f.storage_key
        ]
    return shown
