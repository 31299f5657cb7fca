"""Variables in canned responses and macros: `{{customer.name}}`, `{{customer.first_name}}`,
`{{order.number}}`, `{{order.status}}` (the customer's latest order), `{{operator.name}}`.

A tiny substitution, not a template engine: nothing in a text can run code or reach other
data, and a variable the hub does not know (or one without a value, such as an order for a
customer who has none) is left as written, visible, for the operator to fix before sending.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import Customer, Operator, Order

VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")
NAMES = (
    "customer.name",
    "customer.first_name",
    "order.number",
    "order.status",
    "operator.name",
)


def fill_variables(text: str, values: Mapping[str, str]) -> str:
    """`text` with each known variable that has a value replaced by it."""

    def value(found: re.Match[str]) -> str:
        return values.get(found.group(1)) or found.group(0)

    return VARIABLE.sub(value, text)


async def reply_variables(
    session: AsyncSession, customer: Customer, operator: Operator | None
) -> dict[str, str]:
    """The values of every variable for a reply to `customer` written by `operator`."""
    name = (customer.name or "").strip()
    latest = await session.scalar(
        select(Order)
        .where(col(Order.customer_id) == customer.id)
        .order_by(col(Order.created_at).desc(), col(Order.id).desc())
        .limit(1)
    )
    values = {
        "customer.name": name,
        "customer.first_name": name.split()[0] if name else "",
        "order.number": latest.number if latest else "",
        "order.status": latest.status.replace("_", " ") if latest else "",
        "operator.name": operator.name if operator else "",
    }
    return {k: v for k, v in values.items() if v}
