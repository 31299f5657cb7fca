"""The client's address, for every per-address limit.

Behind a reverse proxy the TCP peer is the proxy, so every visitor would share one budget.
`X-Forwarded-For` is believed only when the peer is one of `HUB_TRUSTED_PROXIES`: anyone
can write that header, so from an untrusted peer it would let a client pick a fresh
address per request. The chain is read from the right, skipping trusted proxies, so a
client cannot prepend a forged address either.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


def _trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in proxies)


def forwarded_client(peer: str, forwarded_for: list[str], proxies: tuple[Network, ...]) -> str:
    """The first address, from the right of `peer` + the X-Forwarded-For chain, that is
    not a trusted proxy; the peer itself when it is not trusted."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    chain = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed([h for h in chain if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled chain: the proxy is all that is known
        if not _trusted(hop, proxies):
            return hop
    return peer


def client_address(request: web.Request) -> str:
    """The address limits key on for this request (`HUB_TRUSTED_PROXIES` applied)."""
    from hub.web.keys import HUB  # keys names the limiters, which call this: import late

    peer = request.remote or UNKNOWN
    proxies = request.app[HUB].settings.trusted_proxy_networks
    return forwarded_client(peer, request.headers.getall("X-Forwarded-For", []), proxies)


def budget_key(address: str) -> str:
    """What per-address budgets count on: an IPv4 address, or an IPv6 client's /64 (one
    subscriber usually holds a whole /64, so counting single IPv6 addresses would give
    one client 2^64 fresh budgets)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None and not ip.is_loopback:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)
