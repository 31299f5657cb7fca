"""Merging customers from the card: search for the other one, confirm, then merge."""

from __future__ import annotations

from aiohttp import web

from hub.actions import queries
from hub.actions.customers import get_customer
from hub.web.api.calls import path_id
from hub.web.inbox.common import hub_of, page, render, safe_next
from hub.web.sessions import SignedIn

CANDIDATES = 20


@page
async def merge_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    customer_id = path_id(request.match_info["id"])
    q = request.query.get("q", "").strip()[:200]
    other_raw = request.query.get("other", "")
    async with hub_of(request).db.session() as session:
        customer = await get_customer(session, customer_id)
        other = await get_customer(session, path_id(other_raw)) if other_raw else None
        found = (
            await queries.list_customers(session, q, after=None, limit=CANDIDATES + 1)
            if q and other is None
            else []
        )
        candidates = [c for c in found if c.id != customer_id][:CANDIDATES]
        shown = [customer, *([other] if other else []), *candidates]
        cards = {card.customer.id: card for card in await queries.customer_cards(session, shown)}
    return await render(
        request,
        "inbox/merge.html",
        me=me,
        customer=customer,
        other=other,
        q=q,
        candidates=candidates,
        cards=cards,
        back=safe_next(request.query.get("back")),
    )
