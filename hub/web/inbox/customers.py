"""Who a customer is, from the card: merge (search, confirm), confirm a claimed address,
dismiss a suggested merge."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from hub.actions.claims import do_confirm_identity
from hub.actions.customers import do_merge_into, get_customer
from hub.actions.suggestions import do_dismiss_suggestion
from hub.actions.unit import unit_of_work
from hub.queries import customers as customer_queries
from hub.web.api.calls import path_id
from hub.web.inbox.common import action, hub_of, page, render, safe_next
from hub.web.sessions import SignedIn

Form = MultiDictProxy[str]

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
            await customer_queries.list_customers(session, q, after=None, limit=CANDIDATES + 1)
            if q and other is None
            else []
        )
        candidates = [c for c in found if c.id != customer_id][:CANDIDATES]
        shown = [customer, *([other] if other else []), *candidates]
        cards = {
            card.customer.id: card for card in await customer_queries.customer_cards(session, shown)
        }
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


@action
async def merge(request: web.Request, me: SignedIn, form: Form) -> str:
    """The path's customer survives; the other's conversations, identities, orders move
    over and the two unresolved conversations fold into one (a second submit is a no-op)."""
    customer_id = path_id(request.match_info["id"])
    other_id = path_id(form.get("other_id", ""))
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.broker) as session:
        await do_merge_into(session, customer_id, other_id, me.operator.id or 0)
    return safe_next(form.get("back"))


@action
async def confirm_identity(request: web.Request, me: SignedIn, form: Form) -> str:
    """The operator vouches for a claimed address (who and when are kept)."""
    customer_id = path_id(request.match_info["id"])
    identity_id = path_id(request.match_info["identity_id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.broker) as session:
        await do_confirm_identity(session, customer_id, identity_id, me.operator.id or 0)
    return safe_next(form.get("back"))


@action
async def dismiss_suggestion(request: web.Request, me: SignedIn, form: Form) -> str:
    customer_id = path_id(request.match_info["id"])
    suggestion_id = path_id(request.match_info["suggestion_id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.broker) as session:
        await do_dismiss_suggestion(session, customer_id, suggestion_id, me.operator.id or 0)
    return safe_next(form.get("back"))
