"""Search and the list's tabs as they are made fast at volume (bench/inbox.py): the same
results whichever plan a search takes, trigram candidates kept in step, capped counts."""

from __future__ import annotations

import re

import pytest
from alembic.script import ScriptDirectory

from hub.actions.customers import do_rename_customer, get_customer
from hub.migrate import alembic_config
from hub.queries import conversations as conversation_queries
from hub.queries import search
from tests.support import RunningHub
from tests.support.api import Api, Browser, customer_writes
from tests.support.inbox import row_ids, walk_pages


async def test_a_search_pages_the_same_whether_it_walks_or_sorts(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = [
        await customer_writes(hub, 7101, "where is my refund?", first_name="Refundo"),
        await customer_writes(hub, 7102, "hello", first_name="Vera"),
        await customer_writes(hub, 7103, "refunded twice", first_name="Lev"),
        await customer_writes(hub, 7104, "a REFUND please", first_name="Ida"),
        await customer_writes(hub, 7105, "refund", first_name="Zoe"),
    ]
    await customer_writes(hub, 7102, "I want a refund too")  # Vera's becomes the newest
    expected = [written[i].conversation_id for i in (1, 4, 3, 2, 0)]

    async def pages() -> list[list[int]]:
        return [[c["id"] for c in p] for p in await walk_pages(api, "/conversations?q=refund", 2)]

    monkeypatch.setattr(search, "WALK_FROM_HITS", 10_000)  # look up the hits, sort them
    sorted_pages = await pages()
    monkeypatch.setattr(search, "WALK_FROM_HITS", 1)  # walk newest first (SQLite)
    walked_pages = await pages()
    assert sorted_pages == walked_pages == [expected[:2], expected[2:4], expected[4:]]
    both = await api.get("/conversations?q=refund+twice")
    assert [c["id"] for c in both["items"]] == [written[2].conversation_id]


async def test_names_and_addresses_are_found_after_a_rename(hub: RunningHub, api: Api) -> None:
    first = await customer_writes(hub, 7201, "hi there", first_name="Olga", last_name="Orlova")
    other = await customer_writes(hub, 7202, "hello", first_name="Oleg", last_name=None)

    async def found(q: str) -> list[int]:
        return [c["id"] for c in (await api.get(f"/conversations?q={q}"))["items"]]

    assert await found("ORLOV") == [first.conversation_id]
    assert await found("ol") == [other.conversation_id, first.conversation_id]  # under 3
    assert await found("720") == [other.conversation_id, first.conversation_id]  # addresses
    assert await found("7201") == [first.conversation_id]
    async with hub.hub.db.session() as session:
        customer = await get_customer(session, first.customer_id)
        do_rename_customer(session, customer, 'Olga "Quoted" Smirnova')
        await session.commit()
    assert await found("orlova") == []
    assert await found("smirn") == [first.conversation_id]
    assert await found('"Quoted"') == [first.conversation_id]
    customers = await api.get("/customers?q=smirnova")
    assert [c["id"] for c in customers["items"]] == [first.customer_id]


async def test_status_tabs_count_up_to_a_cap(
    hub: RunningHub, api: Api, agent: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await customer_writes(hub, 7301, "one")
    b = await customer_writes(hub, 7302, "two")
    await api.ok("POST", f"/conversations/{b.conversation_id}/status", {"status": "resolved"})
    monkeypatch.setattr(conversation_queries, "COUNT_CAP", 1)
    await customer_writes(hub, 7303, "three")
    status, html, _ = await agent.get("/inbox")
    assert status == 200
    assert re.search(r'data-tab="open"[^>]*>Open <span class="count">1\+<', html)
    assert re.search(r'data-tab="resolved"[^>]*>Resolved <span class="count">1<', html)
    assert re.search(r'data-tab="snoozed"[^>]*>Snoozed <span class="count">0<', html)
    assert a.conversation_id in row_ids(html)


def test_the_migration_history_has_one_head() -> None:
    """0005_inbox_search merged the three 0004 branches; a new revision builds on the head."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads
