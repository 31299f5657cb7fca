"""Canned response views: the texts behind `/shortcut` in the reply box."""

from __future__ import annotations

from hub.actions.access import access_admin
from hub.actions.canned import do_create_canned, list_canned
from hub.actions.unit import unit_of_work
from hub.web.api import pages, serialize
from hub.web.api.calls import Call, Reply
from hub.web.api.schemas import CannedBody, CannedOut, CannedPage, PageQuery
from hub.web.api.spec import ApiRoute


async def list_canned_responses(call: Call) -> CannedPage:
    query = call.query_as(PageQuery)
    after = pages.decode_id(query.cursor)
    async with call.hub.db.session() as session:
        rows = await list_canned(session, after_id=after, limit=query.limit + 1)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return CannedPage(
        items=[serialize.canned(row) for row in page],
        next_cursor=pages.after_id(page[-1].id) if more else None,
    )


async def create_canned_response(call: Call) -> Reply:
    body = call.body_as(CannedBody)
    access_admin(call.me)  # as in the inbox: admins manage canned responses, agents use them
    async with unit_of_work(call.hub.db, call.hub.broker) as session:
        canned = await do_create_canned(session, body.shortcut, body.text)
    return Reply(serialize.canned(canned), 201)


_TAGS = ("canned responses",)
ROUTES = [
    ApiRoute(
        "GET",
        "/canned-responses",
        list_canned_responses,
        "List canned responses, oldest first",
        CannedPage,
        query=PageQuery,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/canned-responses",
        create_canned_response,
        "Create a canned response (admins only: 403 for agents); a shortcut already taken is 409",
        CannedOut,
        status=201,
        body=CannedBody,
        errors=(403, 409),
        tags=_TAGS,
    ),
]
