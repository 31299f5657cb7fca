"""Where outgoing webhooks may POST: public HTTPS addresses only (SSRF).

An admin types the URL, but whoever controls the name's DNS decides where it points: a
URL that reaches the hub's own `/metrics`, a cloud metadata endpoint or a database on the
private network would let a webhook probe them. So a URL is checked in form when saved
(https, a host, no credentials, no non-public IP literal), and every address the name
resolves to is checked again when connecting (hub.queue.webhook_http). The one exception
is loopback over plain http, for tests and local development, when the setting allows it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from hub.errors import InvalidInput

MAX_URL_CHARS = 2000
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def public(address: Address) -> bool:
    """Globally reachable: not loopback, private, link-local, shared, reserved, multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def loopback(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def allowed_address(address: Address, *, allow_loopback: bool) -> bool:
    return public(address) or (allow_loopback and loopback(address))


def check_target_url(url: str, *, allow_loopback: bool) -> str:
    """The URL as stored, or InvalidInput saying why it cannot be a webhook target."""
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"the URL must be 1 to {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise InvalidInput("the URL is not valid") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("the URL must be an absolute https:// URL")
    if parts.username or parts.password:
        raise InvalidInput("the URL must not carry a user name or password")
    if any(ord(c) < 33 for c in url):
        raise InvalidInput("the URL must not contain spaces or control characters")
    literal = ip_literal(host)
    local = host in LOOPBACK_NAMES or (literal is not None and loopback(literal))
    if parts.scheme == "http" and not (allow_loopback and local):
        raise InvalidInput("the URL must use https://")
    if local and not allow_loopback:
        raise InvalidInput("the URL points at this machine (loopback)")
    if literal is not None and not allowed_address(literal, allow_loopback=allow_loopback):
        raise InvalidInput("the URL points at a private or reserved address")
    return url
