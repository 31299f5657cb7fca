"""Demo data for `hub demo`: an admin login and a few orders to ask the bot about."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from hub.actions.operators import do_create_operator
from hub.actions.orders import OrderCustomer, OrderInput, do_upsert_order
from hub.db import Database
from hub.migrate import migrate
from hub.models import Operator
from hub.settings import Settings

DEMO_EMAIL = "admin@demo.test"
DEMO_PASSWORD = "demo-password"

DEMO_ORDERS = [
    OrderInput(
        number="1042",
        status="shipped",
        customer=OrderCustomer(name="Anna Petrova", phone="+15555550142", email="anna@demo.test"),
        items=[{"sku": "K-1", "name": "Glass kettle", "qty": 1, "price": "39.90"}],
        total="39.90",
        currency="EUR",
        tracking_url="https://tracking.demo.test/1042",
    ),
    OrderInput(
        number="1043",
        status="processing",
        customer=OrderCustomer(name="John Smith", email="john@demo.test"),
        items=[{"sku": "T-2", "name": "Tea set", "qty": 2, "price": "15.00"}],
        total="30.00",
        currency="EUR",
    ),
]


async def seed_demo(settings: Settings) -> None:
    """Idempotent: running `hub demo` twice keeps one admin and the same orders."""
    db = Database(settings)
    try:
        await migrate(db)
        async with db.session() as session:
            if (
                await session.scalar(select(Operator).where(col(Operator.email) == DEMO_EMAIL))
                is None
            ):
                await do_create_operator(
                    session,
                    email=DEMO_EMAIL,
                    name="Demo Admin",
                    role="admin",
                    password=DEMO_PASSWORD,
                )
            for order in DEMO_ORDERS:
                await do_upsert_order(session, order)
            await session.commit()
    finally:
        await db.close()
