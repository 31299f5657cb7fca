"""`hub orders import FILE.csv`: upsert orders in batches, with a progress bar on stderr."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tqdm import tqdm

from hub.actions.orders import OrderCustomer, OrderInput, decimal_string, do_upsert_order
from hub.db import Database
from hub.errors import HubError, InvalidInput
from hub.migrate import migrate
from hub.settings import Settings

BATCH = 500
REQUIRED = {"number", "status"}


def row_to_order(row: dict[str, str]) -> OrderInput:
    def field(name: str) -> str | None:
        value = (row.get(name) or "").strip()
        return value or None

    items = None
    if field("items"):
        try:
            items = json.loads(row["items"])
        except json.JSONDecodeError:
            raise InvalidInput("items is not a JSON list") from None
        if not isinstance(items, list):
            raise InvalidInput("items is not a JSON list")
    return OrderInput(
        number=field("number") or "",
        status=field("status") or "",
        customer=OrderCustomer(
            name=field("name"),
            phone=field("phone"),
            email=field("email"),
            telegram_id=field("telegram_id"),
        ),
        items=items,
        total=decimal_string(field("total"), "total"),
        currency=field("currency"),
        tracking_url=field("tracking_url"),
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = REQUIRED - set(reader.fieldnames or [])
        if missing:
            raise InvalidInput(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        return list(reader)


async def import_orders(settings: Settings, rows: list[dict[str, str]]) -> str:
    db = Database(settings)
    created = updated = 0
    errors: list[str] = []
    try:
        await migrate(db)
        with tqdm(total=len(rows), unit="order", desc="importing") as bar:
            for start in range(0, len(rows), BATCH):
                async with db.session() as session:
                    for line, row in enumerate(rows[start : start + BATCH], start=start + 2):
                        try:
                            _, was_created, _ = await do_upsert_order(session, row_to_order(row))
                        except HubError as exc:
                            errors.append(f"line {line}: {exc.message}")
                            continue
                        created += was_created
                        updated += not was_created
                    await session.commit()
                bar.update(min(BATCH, len(rows) - start))
    finally:
        await db.close()
    summary = f"{created} created, {updated} updated, {len(errors)} skipped"
    return "\n".join([*errors, summary])
