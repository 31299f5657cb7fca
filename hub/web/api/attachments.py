"""Attachment bytes over the API: `GET /attachments/{id}` with the inbox route's headers."""

from __future__ import annotations

from aiohttp import web

from hub.actions.attachments import get_attachment
from hub.web.api.calls import Call
from hub.web.api.spec import ApiRoute
from hub.web.inbox.attachments import file_response


async def download_attachment(call: Call) -> web.StreamResponse:
    """Any operator may read any conversation (SPEC §8), so any of its files."""
    async with call.hub.db.session() as session:
        attachment = await get_attachment(session, call.id())
    return await file_response(call.request, attachment)


ROUTES = [
    ApiRoute(
        "GET",
        "/attachments/{id}",
        download_attachment,
        "The bytes of a stored attachment (404 while it is pending or when it was not stored)",
        None,
        tags=("attachments",),
    ),
]
