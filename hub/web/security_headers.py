"""Headers every response carries, whatever view (or static file, or error) made it.

`nosniff` stops a browser from running an uploaded file as a script or page because its
bytes look like one; `Referrer-Policy: same-origin` keeps inbox URLs (conversation ids,
signed media links) out of the Referer sent to other sites. A view that sets its own
value keeps it.
"""

from __future__ import annotations

from aiohttp import web

HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def install(app: web.Application) -> None:
    """Called on every application the hub serves (the web app, a worker's /metrics)."""
    app.on_response_prepare.append(_add_headers)
