"""The media store: attachment bytes by key, behind a protocol an object store can implement.

The local store keeps files under `HUB_MEDIA_DIR` (default `./media`, relative to the
current directory like the SQLite file). Keys are the SHA-256 of the content: the same file
sent twice is stored once, and a customer's file name never reaches the file system.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Protocol

from hub.errors import NotFound
from hub.settings import Settings

_KEY = re.compile(r"^[0-9a-f]{64}$")


class MediaStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Store the bytes durably; return their key."""

    async def put_file(self, path: Path, key: str) -> None:
        """Store the file at `path` (written by hub.media.incoming, `key` its SHA-256) under
        `key`, taking it over: `path` is gone afterwards."""

    async def read(self, key: str) -> bytes:
        """The bytes of `key`; NotFound when there are none."""

    async def delete(self, key: str) -> None: ...

    async def keys_put_before(self, cutoff: float) -> list[str]:
        """Keys last put before `cutoff` (UNIX time): what the orphan sweep may consider."""

    async def delete_if_put_before(self, key: str, cutoff: float) -> bool:
        """Delete `key` unless it was put again since `cutoff` (a new upload of the same
        bytes may be about to use it); whether it was deleted."""


class LocalMediaStore:
    """Files in a folder, two levels of fan-out (`ab/cd/abcd…`), written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise NotFound("no such file")
        return self.root / key[:2] / key[2:4] / key

    async def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, self._path(key), data)
        return key

    async def put_file(self, path: Path, key: str) -> None:
        await asyncio.to_thread(self._adopt, path, self._path(key))

    @staticmethod
    def _adopt(source: Path, path: Path) -> None:
        if path.exists():  # stored before: only its time changes (see _write)
            with contextlib.suppress(FileNotFoundError):
                os.utime(path)
                source.unlink(missing_ok=True)
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, path)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            # Stored before: the time it was last put is what keeps it from the orphan sweep.
            with contextlib.suppress(FileNotFoundError):
                os.utime(path)
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("the file is no longer in the media store") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def keys_put_before(self, cutoff: float) -> list[str]:
        return await asyncio.to_thread(self._old_keys, cutoff)

    def _old_keys(self, cutoff: float) -> list[str]:
        """Also removes temporary files a crash left mid-write (`.part-*`) that old."""
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for path in [*self.root.glob("??/??/*"), *self.root.glob(".incoming/.part-*")]:
            try:
                old = path.stat().st_mtime < cutoff
            except FileNotFoundError:
                continue
            if not old:
                continue
            if _KEY.match(path.name):
                found.append(path.name)
            elif path.name.startswith(".part-"):
                path.unlink(missing_ok=True)
        return found

    async def delete_if_put_before(self, key: str, cutoff: float) -> bool:
        return await asyncio.to_thread(self._delete_if_old, self._path(key), cutoff)

    @staticmethod
    def _delete_if_old(path: Path, cutoff: float) -> bool:
        try:
            if path.stat().st_mtime >= cutoff:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True


def media_store(settings: Settings) -> MediaStore:
    """The store the settings name (the local folder; an object store would plug in here)."""
    return LocalMediaStore(settings.media_dir)


# Signed, expiring links: providers that fetch media themselves (Twilio) and web chat
# visitors get a URL that names one attachment and proves the hub issued it.
LINK_SECONDS = 7 * 24 * 3600


def link_signature(secret: bytes, attachment_id: int, expires: int, audience: str) -> str:
    payload = f"attachment:{attachment_id}:{expires}:{audience}".encode()
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()[:40]


def signed_link(secret: bytes, base_url: str, attachment_id: int, audience: str = "public") -> str:
    expires = int(time.time()) + LINK_SECONDS
    signature = link_signature(secret, attachment_id, expires, audience)
    return f"{base_url}/media/{attachment_id}/{expires}/{signature}"


def link_valid(
    secret: bytes, attachment_id: int, expires: int, signature: str, audience: str = "public"
) -> bool:
    if expires < time.time():
        return False
    expected = link_signature(secret, attachment_id, expires, audience)
    # As bytes: compare_digest refuses non-ASCII str, and a link is anyone's to edit.
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
