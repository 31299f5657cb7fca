"""One POST of a webhook delivery: signed, time-limited, never redirected, and only to
public addresses (SSRF: hub.domain.webhook_targets says why).

A host name is resolved by `PublicOnlyResolver` at connect time and refused when any of its
addresses is not public, so a name that changes its answer after the URL was saved gains
nothing; an IP literal, which aiohttp never resolves, is checked before the request.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from hub.domain.signing import SIGNATURE_HEADER, sign
from hub.domain.webhook_targets import allowed_address, check_target_url, ip_literal
from hub.errors import InvalidInput

USER_AGENT = "hub-webhooks/1"
MAX_ERROR_CHARS = 500


class RefusedAddress(OSError):
    """A target host that resolves to an address the hub must not reach."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves as usual, then refuses a host any of whose addresses is not public
    (loopback too, when the dev/test setting allows it)."""

    def __init__(self, allow_loopback: bool) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for entry in found:
            address = ip_literal(entry["host"])
            if address is None or not allowed_address(address, allow_loopback=self._allow_loopback):
                raise RefusedAddress(f"{host} resolves to a private or reserved address")
        return found

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True, slots=True)
class PostResult:
    """What one try came to: `delivered`, else whether another try may help."""

    status: int | None
    error: str | None
    duration_ms: int
    delivered: bool = False
    retryable: bool = False
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def judge(status: int, location: str | None, retry_after: str | None, ms: int) -> PostResult:
    """2xx delivered; 3xx, 408, 429 and 5xx worth another try; any other 4xx final."""
    if 200 <= status < 300:
        return PostResult(status, None, ms, delivered=True)
    if 300 <= status < 400:
        where = (location or "")[:200]
        return PostResult(status, f"redirect to {where!r} not followed", ms, retryable=True)
    if status in (408, 429) or status >= 500:
        wait = _retry_after(retry_after)
        return PostResult(status, f"HTTP {status}", ms, retryable=True, retry_after=wait)
    return PostResult(status, f"HTTP {status}", ms)


class WebhookSender:
    """Holds one client session for every target; `close` when the consumer stops."""

    def __init__(self, timeout: float, allow_loopback: bool) -> None:
        self.timeout = timeout
        self.allow_loopback = allow_loopback
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=PublicOnlyResolver(self.allow_loopback), limit=50, limit_per_host=4
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                trust_env=False,  # no proxy from the environment between us and the check
            )
        return self._session

    def refusal(self, url: str) -> str | None:
        """Why `url` may not be posted to now (the setting may have changed since it was
        saved), or None."""
        try:
            check_target_url(url, allow_loopback=self.allow_loopback)
        except InvalidInput as exc:
            return exc.message
        literal = ip_literal(urlsplit(url).hostname or "")
        if literal is not None and not allowed_address(literal, allow_loopback=self.allow_loopback):
            return "the URL points at a private or reserved address"
        return None

    async def post(self, url: str, secret: str, event: str, key: str, body: bytes) -> PostResult:
        refused = self.refusal(url)
        if refused is not None:
            return PostResult(None, f"refused: {refused}", 0)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
            "X-Hub-Event": event,
            "X-Hub-Delivery": key,
        }
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                return judge(
                    response.status,
                    response.headers.get("Location"),
                    response.headers.get("Retry-After"),
                    elapsed(),
                )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                return PostResult(None, f"refused: {exc.os_error}", elapsed())
            return PostResult(None, _text(exc), elapsed(), retryable=True)
        except TimeoutError:
            late = f"timed out after {self.timeout:g} s"
            return PostResult(None, late, elapsed(), retryable=True)
        except (aiohttp.ClientError, OSError) as exc:
            return PostResult(None, _text(exc), elapsed(), retryable=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
