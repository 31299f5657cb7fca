"""Attachments, pure parts: how a channel fetches a file, what a file really is, which mail
parts are attachments. No I/O here; the store is hub.media.store, the fetching adapters/."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


class AttachmentStatus:
    PENDING = "pending"  # routed with its message, not fetched yet
    STORED = "stored"
    UNAVAILABLE = "unavailable"  # the provider would not give it (after retries)
    TOO_LARGE = "too_large"
    REFUSED = "refused"  # a content type the hub does not accept


@dataclass(frozen=True, slots=True)
class FetchedFile:
    data: bytes
    content_type: str | None = None
    filename: str | None = None


class FileTooLarge(Exception):
    """The file is over the limit; `size` when the provider said how big it is."""

    def __init__(self, size: int | None) -> None:
        super().__init__(f"the file is larger than allowed ({size} bytes)")
        self.size = size


class MediaSource(Protocol):
    """A channel's way to fetch a file it referenced (`InboundAttachment.ref`).

    Raises FileTooLarge over `limit` bytes (without reading it whole), ProviderError
    (retryable or not) when the provider fails or refuses.
    """

    async def fetch(self, ref: str, limit: int) -> FetchedFile: ...

    async def close(self) -> None: ...


# Magic numbers of the types worth checking: a claim is not trusted for these.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1a\x45\xdf\xa3", 0, "video/webm"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
)
CHECKED_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_GENERIC = frozenset({None, "application/octet-stream", "binary/octet-stream"})


def sniff(data: bytes) -> str | None:
    """The type the bytes announce themselves as, for the few formats that do."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    for magic, offset, kind in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return kind
    return None


def _base(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def decide_type(
    data: bytes, claimed: str | None, filename: str | None, allowed: frozenset[str]
) -> tuple[str | None, str | None]:
    """(content type to store, None) when accepted; (None, reason) when refused.

    The provider's claim (or the file name) is checked against the bytes where the bytes
    can tell: a "photo" that is really an executable is refused, not stored as an image.
    """
    claim = _base(claimed)
    if claim in _GENERIC and filename:
        claim = _base(mimetypes.guess_type(filename)[0])
    actual = sniff(data)
    if actual in ("application/x-msdownload", "application/x-executable"):
        return None, "executable files are not accepted"
    if claim in _GENERIC or (actual in CHECKED_TYPES and actual != claim):
        claim = actual  # the bytes say what they are (Telegram sends photos untyped)
    if claim is None:
        return None, "the file's type could not be determined"
    if claim in CHECKED_TYPES and actual != claim:
        return None, f"the file says it is {claim} but its content does not match"
    if claim not in allowed:
        return None, f"files of type {claim} are not accepted"
    return claim, None


def kind_of(content_type: str | None) -> str:
    """A coarse kind for display: image, audio, video or document."""
    major = (_base(content_type) or "").split("/", 1)[0]
    return major if major in ("image", "audio", "video") else "document"


def mail_attachments(mail: EmailMessage) -> list[EmailMessage]:
    """The parts of a mail that are files (not its text or HTML body), in a stable order:
    the inbound parser names them `mime:N`, the fetcher finds part N the same way."""
    found: list[EmailMessage] = []
    for part in mail.walk():
        if part.is_multipart() or not isinstance(part, EmailMessage):
            continue
        disposition = part.get_content_disposition()
        maintype = part.get_content_maintype()
        if disposition == "attachment" or (maintype != "text" and maintype != "message"):
            found.append(part)
        elif disposition == "inline" and part.get_filename():
            found.append(part)  # a text file attached inline (some clients do)
    return found
