"""`hub shopify backfill [--days N]`: the shop's recent orders through the Admin API, with a
progress bar on stderr. History tells nobody: no customer is notified of a backfilled
status. Safe to re-run (orders are upserted by number, and an order already newer in the
hub than the API's copy is left alone)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from tqdm import tqdm

from hub.actions.feeds import FeedOutcome, do_apply_feed_order
from hub.db import Database
from hub.domain.feeds import FeedOrder
from hub.errors import HubError
from hub.migrate import migrate
from hub.registry import shopify_orders
from hub.settings import Settings

DEFAULT_DAYS = 60  # what the Admin API shows without the read_all_orders scope
ATTEMPTS = 3  # a live feed delivery may create the same new customer meanwhile


async def _apply(db: Database, order: FeedOrder) -> FeedOutcome:
    tries = 0
    while True:
        try:
            async with db.writing(), db.session() as session:
                outcome = await do_apply_feed_order(session, order, None)
                await session.commit()
            return outcome
        except IntegrityError:
            tries += 1
            if tries >= ATTEMPTS:
                raise


async def backfill(settings: Settings, days: int = DEFAULT_DAYS) -> str:
    history = shopify_orders(settings)
    db = Database(settings)
    counts = dict.fromkeys(FeedOutcome, 0)
    errors: list[str] = []
    fetched = 0
    try:
        await migrate(db)
        total = await history.count(days)
        with tqdm(total=total, unit="order", desc="backfilling") as bar:
            async for orders, seen in history.pages(days):
                for order in orders:
                    try:
                        counts[await _apply(db, order)] += 1
                    except HubError as exc:
                        errors.append(f"order {order.number}: {exc.message}")
                fetched += seen
                bar.update(seen)
    finally:
        await history.close()
        await db.close()
    kept = sum(counts.values())
    summary = (
        f"{fetched} fetched: {counts[FeedOutcome.CREATED]} created, "
        f"{counts[FeedOutcome.UPDATED]} updated, "
        f"{counts[FeedOutcome.UNCHANGED] + counts[FeedOutcome.STALE]} unchanged, "
        f"{fetched - kept} skipped"
    )
    return "\n".join([*errors, summary])
