"""`View original` of an inbound mail: its exact bytes, as a download (`.eml`).

Served as an attachment with `nosniff` and a sandboxing CSP, so a browser never renders
the customer's HTML from the inbox's origin.
"""

from __future__ import annotations

from aiohttp import web

from hub.actions.originals import stored_original
from hub.web.api.calls import path_id
from hub.web.inbox.common import hub_of, page
from hub.web.sessions import SignedIn

PATH = "/inbox/messages/{id}/original"


@page
async def original_mail(request: web.Request, me: SignedIn) -> web.StreamResponse:
    message_id = path_id(request.match_info["id"])
    async with hub_of(request).db.session() as session:
        raw = await stored_original(session, message_id)
    return web.Response(
        body=raw,
        headers={
            "Content-Type": "message/rfc822",
            "Content-Disposition": f'attachment; filename="message-{message_id}.eml"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        },
    )
