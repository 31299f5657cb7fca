"""Reaching this very hub over HTTP, whatever address it was configured or proxied with."""

from __future__ import annotations

from aiohttp import web


def local_base(request: web.Request) -> str:
    """The address the hub accepted this request on: always reachable from this process
    (unlike `HUB_PUBLIC_URL`, which may be a proxy, or `0.0.0.0`)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return str(request.url.origin())
    host, port = str(sockname[0]), int(sockname[1])
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
