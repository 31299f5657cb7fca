"""Inbox pages and the HTML fragments the page refetches when a live notice arrives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.attachments import attachments_of, readable_size
from hub.actions.channel_state import reply_channels
from hub.actions.contact_log import note_kinds
from hub.actions.conversations import get_conversation
from hub.actions.customers import get_customer
from hub.actions.macros import list_macros
from hub.actions.read_markers import do_mark_read
from hub.actions.replies import reply_address
from hub.actions.system_notes import notes_of
from hub.actions.unit import unit_of_work
from hub.domain.types import Channel, ConversationStatus
from hub.errors import InvalidInput, NotFound
from hub.models.base import utcnow
from hub.queries import conversations as conversation_queries
from hub.queries import csat as csat_queries
from hub.queries import customers as customer_queries
from hub.queries.canned import all_canned
from hub.queries.conversations import read_markers, status_counts
from hub.queries.operators import list_operators
from hub.queries.sla import sla_states
from hub.queries.snippets import matching_lines
from hub.queries.variables import fill_variables, reply_variables
from hub.queries.waiting import (
    assignee_names,
    mail_subjects,
    waited,
    waiting_since,
    worth_reading,
)
from hub.web.api import pages
from hub.web.api.calls import path_id
from hub.web.inbox.common import hub_of, page, render
from hub.web.inbox.routing import routing_of
from hub.web.sessions import SignedIn

PAGE_SIZE = 50
THREAD_LIMIT = 1000
STATUSES = [s.value for s in ConversationStatus]
CHANNELS = [c.value for c in Channel]
FRAGMENTS = {
    "messages": "inbox/_messages.html",
    "head": "inbox/_head.html",
    "card": "inbox/_card.html",
}


@dataclass(frozen=True)
class Filters:
    """The list's filters as the query string carries them (`status=all` lists every one)."""

    status: str = "open"
    channel: str = ""
    assignee: str = "anyone"
    label: str = ""
    q: str = ""
    cursor: str = ""

    @classmethod
    def of(cls, query: Any) -> Filters:
        def pick(name: str, allowed: list[str] | None, default: str) -> str:
            value = str(query.get(name, default)).strip()[:200]
            return value if allowed is None or value in allowed else default

        return cls(
            status=pick("status", [*STATUSES, "all"], "open"),
            channel=pick("channel", ["", *CHANNELS], ""),
            assignee=pick("assignee", ["anyone", "me", "none"], "anyone"),
            label=pick("label", None, ""),
            q=pick("q", None, ""),
            cursor=pick("cursor", None, ""),
        )

    def where(self, me: SignedIn) -> conversation_queries.ConversationFilter:
        assignee: int | str | None = {
            "me": me.operator.id,
            "none": conversation_queries.UNASSIGNED,
        }.get(self.assignee)
        return conversation_queries.ConversationFilter(
            status=None if self.status == "all" else self.status,
            channel=self.channel or None,
            assignee=assignee,
            label=self.label or None,
            q=self.q or None,
        )

    def query(self, **changes: str) -> dict[str, str]:
        """The query string for these filters with `changes`, defaults left out."""
        values = {**self.__dict__, "cursor": "", **changes}
        defaults = Filters().__dict__
        return {k: v for k, v in values.items() if v and v != defaults[k]}

    def suffix(self, *, tab: str = "", **changes: str) -> str:
        """`?query` for links, or nothing when every filter is at its default; a `tab`
        link always names its status, so it stays relative to the page it is on."""
        query = urlencode({**({"status": tab} if tab else {}), **self.query(**changes)})
        return f"?{query}" if query else ""


async def _list(session: AsyncSession, me: SignedIn, filters: Filters) -> dict[str, Any]:
    try:
        after = pages.decode_time_and_id(filters.cursor or None)
    except InvalidInput:
        after = None
    rows = await conversation_queries.list_conversations(
        session, filters.where(me), after=after, limit=PAGE_SIZE + 1
    )
    shown = rows[:PAGE_SIZE]
    markers = await read_markers(session, me.operator.id or 0, [c.id or 0 for c in shown])
    more = len(rows) > PAGE_SIZE
    now = datetime.now(UTC)
    waits = await waiting_since(session, shown)
    return {
        "assignees": await assignee_names(session, shown),
        "snippets": await matching_lines(session, shown, filters.q) if filters.q else {},
        "waiting": {i: (since, *waited(since, now)) for i, since in waits.items()},
        "rows": shown,
        "details": await conversation_queries.conversation_details(session, shown),
        "unread": await worth_reading(session, shown, markers, me.operator.id or 0),
        "counts": await status_counts(session, STATUSES),
        "count_cap": conversation_queries.COUNT_CAP,
        "filters": filters,
        "next_cursor": pages.time_and_id(shown[-1].last_message_at, shown[-1].id) if more else "",
        "statuses": STATUSES,
        "channels": CHANNELS,
        "sla": await sla_states(session, shown, utcnow()),
    }


@page
async def inbox_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    async with hub_of(request).db.session() as session:
        listing = await _list(session, me, Filters.of(request.query))
    return await render(request, "inbox/list.html", me=me, **listing)


@page
async def rows_fragment(request: web.Request, me: SignedIn) -> web.StreamResponse:
    async with hub_of(request).db.session() as session:
        listing = await _list(session, me, Filters.of(request.query))
    return await render(request, "inbox/_list.html", me=me, **listing)


async def _thread(session: AsyncSession, me: SignedIn, conversation_id: int) -> dict[str, Any]:
    conversation = await get_conversation(session, conversation_id)
    if conversation.merged_into_id is not None:
        # Folded by a merge: the thread lives on in the survivor (SPEC §6).
        raise web.HTTPFound(f"/inbox/conversations/{conversation.merged_into_id}")
    customer = await get_customer(session, conversation.customer_id)
    card = await customer_queries.full_card(session, customer)
    messages = await conversation_queries.list_messages(
        session, conversation_id, after_id=None, limit=THREAD_LIMIT
    )
    ratings = await csat_queries.ratings_by_question(session, conversation_id)
    now = utcnow()
    channels = sorted({i.channel for i in card.identities}, key=CHANNELS.index)
    sms = Channel.SMS.value
    sms_to = await reply_address(session, customer.id or 0, sms) if sms in channels else None
    proven = {i.channel for i in card.identities if i.verified}
    claimed = {i.channel for i in card.identities} - proven - {conversation.channel}
    reachable = await reply_channels(session, customer.id or 0, channels, sms_to, claimed)
    canned = await all_canned(session)
    variables = await reply_variables(session, customer, me.operator)
    return {
        "attachments": await attachments_of(session, [m.id for m in messages if m.id]),
        "conversation": conversation,
        "labels": (await conversation_queries.conversation_details(session, [conversation])).labels,
        "note_kinds": await note_kinds(session, [m.id for m in messages]),
        # The hub's own notes, shown in the operator's language (`shown_text`).
        "notes": await notes_of(session, [m.id for m in messages]),
        "ratings": ratings,
        # Questions a bare rating may still answer (the rest expired unanswered).
        "open_ratings": {r.id for r in ratings.values() if r.expires_at > now},
        "customer_ratings": await csat_queries.customer_ratings(session, customer.id or 0),
        "card": card,
        "messages": messages,
        "operators": {o.id: o for o in await list_operators(session)},
        "reachable": reachable,
        "canned": canned,
        "macros": await list_macros(session),
        # Canned texts as they would go to this customer: the box shows what is sent.
        "canned_texts": {r.shortcut: fill_variables(r.text, variables) for r in canned},
        "subjects": await mail_subjects(session, [m.id for m in messages if m.channel == "email"]),
        **await routing_of(session, conversation),
    }


@page
async def thread_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    conversation_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        thread = await _thread(session, me, conversation_id)
        await do_mark_read(session, me.operator.id or 0, conversation_id)
        listing = await _list(session, me, Filters.of(request.query))
    limit = readable_size(hub.settings.max_attachment_bytes)
    return await render(
        request, "inbox/thread.html", me=me, max_file_size=limit, **listing, **thread
    )


@page
async def thread_fragment(request: web.Request, me: SignedIn) -> web.StreamResponse:
    part = FRAGMENTS.get(request.match_info["part"])
    if part is None:
        raise NotFound("no such part of a thread")
    conversation_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        thread = await _thread(session, me, conversation_id)
        if part == FRAGMENTS["messages"]:
            await do_mark_read(session, me.operator.id or 0, conversation_id)
    return await render(request, part, me=me, **thread)
