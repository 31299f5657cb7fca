"""Customer views: the list, the card (identities, orders, conversations), and merge."""

from __future__ import annotations

from hub.actions.claims import do_confirm_identity
from hub.actions.customers import do_merge_into, get_customer
from hub.actions.suggestions import do_dismiss_suggestion
from hub.actions.unit import unit_of_work
from hub.queries import customers as customer_queries
from hub.web.api import pages, serialize
from hub.web.api.calls import Call
from hub.web.api.schemas import (
    CustomerOut,
    CustomerPage,
    CustomerQuery,
    DecisionBody,
    MergeBody,
)
from hub.web.api.spec import ApiRoute


async def list_customers(call: Call) -> CustomerPage:
    query = call.query_as(CustomerQuery)
    after = pages.decode_time_and_id(query.cursor)
    q = query.q.strip() if query.q else None
    async with call.hub.db.session() as session:
        rows = await customer_queries.list_customers(session, q, after=after, limit=query.limit + 1)
        page = rows[: query.limit]
        cards = await customer_queries.customer_cards(session, page)
    more = len(rows) > query.limit
    return CustomerPage(
        items=[serialize.customer(card) for card in cards],
        next_cursor=pages.time_and_id(page[-1].last_activity_at, page[-1].id) if more else None,
    )


async def show_customer(call: Call) -> CustomerOut:
    async with call.hub.db.session() as session:
        customer = await get_customer(session, call.id())
        card = await customer_queries.full_card(session, customer)
    return serialize.customer(card)


async def merge_customer(call: Call) -> CustomerOut:
    """The path's customer survives; the other's conversations (ids kept), identities and
    orders move over, and the two unresolved conversations fold into one. Submitting the
    same merge twice answers the survivor both times."""
    body = call.body_as(MergeBody)
    async with unit_of_work(call.hub.db, call.hub.broker) as session:
        survivor = await do_merge_into(session, call.id(), body.other_id, call.operator_id)
        card = await customer_queries.full_card(session, survivor)
    return serialize.customer(card)


async def confirm_identity(call: Call) -> CustomerOut:
    """An operator vouches for a claimed address: it becomes proof (who and when kept)."""
    async with unit_of_work(call.hub.db, call.hub.broker) as session:
        await do_confirm_identity(session, call.id(), call.id("identity_id"), call.operator_id)
        customer = await get_customer(session, call.id())
        card = await customer_queries.full_card(session, customer)
    return serialize.customer(card)


async def dismiss_suggestion(call: Call) -> CustomerOut:
    """Not the same person: the suggested merge leaves both cards."""
    async with unit_of_work(call.hub.db, call.hub.broker) as session:
        customer = await get_customer(session, call.id())
        await do_dismiss_suggestion(session, call.id(), call.id("suggestion_id"), call.operator_id)
        card = await customer_queries.full_card(session, customer)
    return serialize.customer(card)


_TAGS = ("customers",)
ROUTES = [
    ApiRoute(
        "GET",
        "/customers",
        list_customers,
        "List customers, newest activity first; `q` matches a name or an address",
        CustomerPage,
        query=CustomerQuery,
        tags=_TAGS,
    ),
    ApiRoute(
        "GET",
        "/customers/{id}",
        show_customer,
        "A customer with identities, orders and conversations",
        CustomerOut,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/customers/{id}/merge",
        merge_customer,
        "Merge another customer into this one; nothing of the other is lost",
        CustomerOut,
        body=MergeBody,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/customers/{id}/identities/{identity_id}/confirm",
        confirm_identity,
        "Confirm a claimed identity: it becomes proven, with who and when kept",
        CustomerOut,
        body=DecisionBody,
        errors=(409,),
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/customers/{id}/suggestions/{suggestion_id}/dismiss",
        dismiss_suggestion,
        "Dismiss a suggested merge (accept one with POST /customers/{id}/merge)",
        CustomerOut,
        body=DecisionBody,
        tags=_TAGS,
    ),
]
