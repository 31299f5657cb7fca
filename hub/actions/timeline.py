"""The customer's timeline: what changed who a customer is, and who or which rule did it.

Links, merges, claims, confirmations, dismissals and folds are written here by the actions
that make them (SPEC §6), in the same transaction, so the card can show how a customer came
to be what it is.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.models import CustomerEvent


class TimelineKind(StrEnum):
    LINK = "link"  # a proven address joined the customer (rule or operator)
    PROVE = "prove"  # an address the customer only claimed was proven
    MERGE = "merge"  # another customer was merged into this one
    CLAIM = "claim"  # the customer claimed an address (web chat identify, no proof)
    SUGGEST = "suggest"  # a claim names an address another customer holds
    CLAIM_MOVED = "claim_moved"  # proof of an address this customer claimed moved it away
    CONFIRM = "confirm"  # an operator confirmed a claim
    DISMISS = "dismiss"  # an operator dismissed a suggested merge
    FOLD = "fold"  # two unresolved conversations became one


def note(
    session: AsyncSession,
    customer_id: int,
    kind: TimelineKind,
    *,
    channel: str | None = None,
    address: str | None = None,
    other_customer_id: int | None = None,
    operator_id: int | None = None,
    rule: str | None = None,
) -> None:
    """Add one entry; `operator_id` when a person did it, else `rule` names the automation."""
    session.add(
        CustomerEvent(
            customer_id=customer_id,
            kind=kind.value,
            channel=channel,
            address=address,
            other_customer_id=other_customer_id,
            operator_id=operator_id,
            rule=(rule or "")[:64] or None,
        )
    )


async def move_timeline(session: AsyncSession, from_id: int, to_id: int) -> None:
    """A merged-away customer's history joins the survivor's: nothing of it is lost."""
    await session.execute(
        update(CustomerEvent)
        .where(col(CustomerEvent.customer_id) == from_id)
        .values(customer_id=to_id)
    )
