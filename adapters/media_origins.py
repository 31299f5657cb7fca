"""Where the hub may fetch customers' media from (SPEC §10): the provider's own origins,
on public addresses only.

A signed Twilio webhook carries `MediaUrlN`, but the signature proves only that the form
came from Twilio's account holder, not that the URL is Twilio's: unchecked, a MediaUrl at
loopback, at the hub's own `/metrics`, or at anything that redirects there was fetched
and stored as an attachment operators could open (server-side request forgery). So:

- a URL is fetched only at an origin (scheme, host, port) the provider serves media from;
- every host name is resolved here and refused when any address is loopback, private,
  link-local or otherwise not public, checked at connection time by the resolver the
  session uses, so a name that changes its answer between check and connect gains nothing;
- the only exception is the exact origin the provider's API URL setting points to when
  it is on loopback: the tests' fake provider.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedAddress(OSError):
    """A media host that resolves to an address the hub must not reach."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """None for what is not an absolute http(s) URL with a host (or a bad port)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username:
            return None
        return cls(parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme])


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally reachable: not loopback, private, link-local, shared, reserved, multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class MediaOrigins:
    """The origins one provider's media may come from.

    `api` is the provider's API URL setting: always allowed, and the only origin allowed
    on loopback. `https_hosts` (exact names) and `https_suffixes` (`.twiliocdn.com`) are
    further HTTPS hosts the provider redirects to for the bytes.
    """

    api: Origin
    https_hosts: frozenset[str] = frozenset()
    https_suffixes: tuple[str, ...] = ()

    @classmethod
    def for_api(cls, api_url: str, **more: Any) -> MediaOrigins:
        origin = Origin.of(api_url)
        if origin is None:
            raise ValueError("the provider's API URL is not an http(s) URL")
        return cls(origin, **more)

    def allows(self, url: str) -> bool:
        """Whether `url` is at one of these origins (its address is checked on connect;
        an IP literal, which no resolver sees, is checked here)."""
        origin = Origin.of(url)
        if origin is None:
            return False
        literal = _ip(origin.host)
        if origin == self.api:
            return literal is None or literal.is_loopback or public(literal)
        if origin.scheme != "https" or origin.port != 443:
            return False
        named = origin.host in self.https_hosts or origin.host.endswith(self.https_suffixes)
        return named and (literal is None or public(literal))

    def loopback_exception(self) -> tuple[str, int] | None:
        """(host, port) of the API origin: when it resolves to loopback (a fake on this
        machine), connections to exactly it are allowed."""
        return (self.api.host, self.api.port)


class PublicOnlyResolver(AbstractResolver):
    """Resolves as usual, then refuses a host any of whose addresses is not public
    (except the provider's own loopback fake, by host name and port)."""

    def __init__(self, exception: tuple[str, int] | None) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._exception = exception

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if self._exception == (host.lower(), port):
            if all((ip := _ip(r["host"])) is not None and ip.is_loopback for r in found):
                return found
        for result in found:
            address = _ip(result["host"])
            if address is None or not public(address):
                raise RefusedAddress(f"{host} resolves to a non-public address")
        return found

    async def close(self) -> None:
        await self._inner.close()


def guarded_session(origins: MediaOrigins, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """A session whose connections reach public addresses only (or the loopback fake).
    An IP-literal URL skips the resolver: MediaOrigins.allows checks those."""
    connector = aiohttp.TCPConnector(resolver=PublicOnlyResolver(origins.loopback_exception()))
    return aiohttp.ClientSession(timeout=timeout, connector=connector)


def refused(exc: BaseException) -> bool:
    """Whether a client error is the resolver refusing an address (not a network fault)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, RefusedAddress):
            return True
        cause = getattr(cause, "os_error", None) or cause.__cause__
    return False
