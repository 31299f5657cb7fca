"""PUT /orders written in batches (hub.actions.order_puts): concurrent PUTs share a write
turn and a transaction, each still answers its own result, one status is told once, a
locked database is retried and never reaches the shop, one bad PUT fails alone."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

import hub.actions.order_puts as order_puts
from hub import metrics
from hub.actions.orders import OrderCustomer, OrderInput
from hub.errors import InvalidInput
from hub.models import Message, OrderNotification
from hub.web.api.orders import order_puts as order_puts_of
from hub.web.keys import ORDER_PUTS
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api
from tests.support.orders import put_order, sent_to


async def _put(api: Api, number: str, user: int, status: str, **more: Any) -> tuple[int, Any]:
    body = {"customer": {"telegram_id": user}, "status": status, **more}
    code, answer, _ = await api.call("PUT", f"/orders/{number}", body)
    return code, answer


def _batches() -> float:
    """Batches the process's `PUT /orders` writers have written (hub.metrics)."""
    sample = metrics.REGISTRY.get_sample_value("hub_batch_size_count", {"writer": "order_puts"})
    return sample or 0.0


async def _count(running: RunningHub, what: Any) -> int:
    async with running.hub.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(what)) or 0)


# SQLITE_BUSY_SNAPSHOT is SQLite's; PostgreSQL waits for the row lock. (Not a skip inside the
# test: a PostgreSQL hub stopped right after its start leaked a connection to a later test.)
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_locked_batch_is_written_again_in_the_write_turn(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = hub.hub.db
    assert db.is_sqlite
    real = order_puts.write_puts
    turns: list[bool] = []

    async def once_locked(session: Any, puts: Any, rules: Any) -> Any:
        turns.append(db._turns.locked())
        if len(turns) == 1:
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("UPDATE orders SET status=?", {}, locked)
        return await real(session, puts, rules)

    monkeypatch.setattr(order_puts, "write_puts", once_locked)
    code, answer = await _put(api, "9901", 9901, "created", notify=True)
    assert code == 201, answer
    assert turns == [True, True]  # both tries in the process's write turn
    assert answer["notification"]["queued"] is True
    assert (await api.get("/orders/9901"))["history"][0]["status"] == "created"


async def test_concurrent_puts_of_one_status_tell_the_customer_once(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    users = list(range(9700, 9720))
    for user in users:  # customers and orders exist: the PUTs below take the lean path
        await put_order(api, str(user), user, "processing")
    same = [_put(api, "9700", 9700, "shipped", notify=True) for _ in range(8)]
    others = [_put(api, str(u), u, "shipped", notify=True) for u in users[1:]]
    answers = await asyncio.gather(*same, *others)
    assert all(code == 200 for code, _ in answers), answers
    told = [a["notification"] for _, a in answers[: len(same)]]
    assert sum(n["queued"] for n in told) == 1, told
    assert {n["reason"] for n in told if not n["queued"]} <= {"same_status", "already_notified"}
    assert all(a["notification"]["queued"] for _, a in answers[len(same) :])
    assert all(a["history"][-1]["status"] == "shipped" for _, a in answers)
    # Told again of the same status after a change in between: still once.
    assert (await _put(api, "9700", 9700, "in_transit"))[0] == 200
    again = await _put(api, "9700", 9700, "shipped", notify=True)
    assert again[1]["notification"]["reason"] == "already_notified"

    async def all_sent() -> bool:
        return all(any("shipped" in t for t in sent_to(fake_telegram, u)) for u in users)

    await eventually(all_sent, what="a shipped notice to every customer")
    assert await _count(hub, OrderNotification) == len(users)
    assert Counter(len(sent_to(fake_telegram, u)) for u in users) == {1: len(users)}


async def test_a_new_order_and_new_customers_in_one_batch_with_known_ones(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    """New customers go the single way, known ones the lean way, in one batch: each answer
    is its own, with the same `notification` either way."""
    await put_order(api, "9800", 9800, "processing")
    batch = [
        _put(api, "9800", 9800, "shipped", notify=True),  # known customer, known order
        _put(api, "9801", 9800, "created", notify=True),  # known customer, new order
        _put(api, "9802", 9802, "created", notify=True),  # new customer, new order
        _put(api, "9800", 9800, "delivered", notify=True),  # the same order again
    ]
    answers = await asyncio.gather(*batch)
    codes = [code for code, _ in answers]
    assert codes == [200, 201, 201, 200], answers
    assert all(a["notification"]["queued"] for _, a in answers), answers
    assert all(a["notification"]["channel"] == "telegram" for _, a in answers)
    # The two PUTs of 9800 came in either order: both were changes, both told.
    history = [h["status"] for h in (await api.get("/orders/9800"))["history"]]
    assert history[0] == "processing" and sorted(history[1:]) == ["delivered", "shipped"]

    def texts() -> list[str]:
        return sent_to(fake_telegram, 9800) + sent_to(fake_telegram, 9802)

    async def four() -> bool:
        return len(texts()) >= 4

    await eventually(four, what="four notices")
    assert sorted(t.split("#")[1][:4] for t in texts()) == ["9800", "9800", "9801", "9802"]
    async with hub.hub.db.session() as session:
        system = list(await session.scalars(select(Message).where(Message.sender_type == "system")))
    assert len(system) == 4 and all(m.status in ("queued", "sent") for m in system)


async def test_one_bad_put_fails_alone_and_its_batch_is_answered(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    for user in (9900, 9901, 9902):
        await put_order(api, str(user), user, "processing")
    real = order_puts._write_lean

    async def refuse_9901(session: Any, run: Any, rules: Any) -> Any:
        if any(x.put.data.number == "9901" for x in run):
            raise InvalidInput("order 9901 is refused by this test")
        return await real(session, run, rules)

    monkeypatch.setattr(order_puts, "_write_lean", refuse_9901)
    answers = await asyncio.gather(
        *(_put(api, str(u), u, "shipped", notify=True) for u in (9900, 9901, 9902))
    )
    assert [code for code, _ in answers] == [200, 422, 200], answers
    assert (await api.get("/orders/9901"))["status"] == "processing"  # nothing of it stored
    assert (await api.get("/orders/9902"))["status"] == "shipped"
    assert await _count(hub, OrderNotification) == 2


async def test_two_writers_racing_on_one_status_tell_once(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    """Two processes' writers (here two on one hub: on PostgreSQL nothing serialises them)
    push the same status of the same orders at once: each order is told once, and the other
    answer says why not, never an error."""
    users = [9600, 9601, 9602, 9603]
    for user in users:
        await put_order(api, str(user), user, "processing")
    running = hub.hub
    other = order_puts_of(running)

    def put(writer: order_puts.OrderPuts, user: int) -> Any:
        data = OrderInput(str(user), "shipped", OrderCustomer(telegram_id=str(user)))
        return writer.put(order_puts.OrderPut(data, notify=True))

    mine = hub.runner.app[ORDER_PUTS]
    results = await asyncio.gather(*(put(w, u) for u in users for w in (mine, other)))
    for user, pair in zip(users, zip(results[::2], results[1::2], strict=True), strict=True):
        notices = [r.notice for r in pair]
        assert all(n is not None for n in notices)
        queued = [n for n in notices if n is not None and n.queued]
        assert len(queued) == 1, (user, notices)
        [quiet] = [n for n in notices if n is not None and not n.queued]
        assert quiet.reason in ("same_status", "already_notified")
        assert all(r.order.status == "shipped" for r in pair)
    assert await _count(hub, OrderNotification) == len(users)

    async def all_sent() -> bool:
        return all(sent_to(fake_telegram, u) for u in users)

    await eventually(all_sent, what="a notice to every customer")
    assert all(len(sent_to(fake_telegram, u)) == 1 for u in users)


async def test_puts_that_arrive_together_share_one_turn_and_a_few_statements(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten status changes of known customers handed over at once: one batch, written in a
    handful of statements for all ten (not ~20 each), every one told."""
    users = list(range(9500, 9510))
    for user in users:
        await put_order(api, str(user), user, "processing")
    writer = hub.runner.app[ORDER_PUTS]
    before = _batches()
    statements: list[str] = []
    real = order_puts.write_puts

    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    async def counted(session: Any, puts: Any, rules: Any) -> Any:
        """The batch's own connection only: not the consumers polling beside it."""
        connection = await session.connection()
        event.listen(connection.sync_connection, "before_cursor_execute", count)
        return await real(session, puts, rules)

    monkeypatch.setattr(order_puts, "write_puts", counted)

    def put(user: int) -> Any:
        data = OrderInput(str(user), "shipped", OrderCustomer(telegram_id=str(user)))
        return writer.put(order_puts.OrderPut(data, notify=True))

    results = await asyncio.gather(*(put(u) for u in users))
    assert _batches() == before + 1
    assert all(r.notice is not None and r.notice.queued for r in results)
    assert [r.order.number for r in results] == [str(u) for u in users]
    assert [r.history[-1].status for r in results] == ["shipped"] * len(users)
    # Reads: identities, customers, orders; for the notices told already, proven
    # identities, latest inbound messages, threads. Writes: orders, history, conversations,
    # messages, previews, notices; the history read back; webhooks and the queue (SQLite).
    assert 10 <= len(statements) <= 16, statements

    async def all_sent() -> bool:
        return all(sent_to(fake_telegram, u) for u in users)

    await eventually(all_sent, what="a notice to every customer")
