"""Suggested merges: a claim that names an address another customer holds.

A claim never merges (SPEC §6); it leaves a suggestion that both cards show ("may be the
same person: same email, claimed in web chat") until an operator accepts it (a merge) or
dismisses it. Suggestions follow their customers through merges.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.timeline import TimelineKind, note
from hub.errors import NotFound
from hub.models import MergeSuggestion
from hub.models.base import utcnow

ACCEPTED = "accepted"
DISMISSED = "dismissed"


async def suggest_merge(
    session: AsyncSession, claimant_id: int, owner_id: int, channel: str, address: str
) -> None:
    """Record (once) that `claimant_id` claimed an address that `owner_id` holds."""
    if claimant_id == owner_id:
        return
    found = await session.scalar(
        select(MergeSuggestion).where(
            col(MergeSuggestion.customer_id) == claimant_id,
            col(MergeSuggestion.owner_id) == owner_id,
            col(MergeSuggestion.channel) == channel,
            col(MergeSuggestion.address) == address,
        )
    )
    if found is not None:
        return  # also when dismissed: an operator already said no to this very claim
    session.add(
        MergeSuggestion(
            customer_id=claimant_id, owner_id=owner_id, channel=channel, address=address
        )
    )
    for one, two in ((claimant_id, owner_id), (owner_id, claimant_id)):
        note(
            session,
            one,
            TimelineKind.SUGGEST,
            channel=channel,
            address=address,
            other_customer_id=two,
            rule="claimed address held by another customer",
        )


def _settle(suggestion: MergeSuggestion, outcome: str, operator_id: int | None) -> None:
    suggestion.outcome = outcome
    suggestion.settled_by_id = operator_id
    suggestion.settled_at = utcnow()


async def do_dismiss_suggestion(
    session: AsyncSession, customer_id: int, suggestion_id: int, operator_id: int
) -> MergeSuggestion:
    """Not the same person: the suggestion (one naming this customer on either side) leaves
    both cards, and the decision is kept."""
    suggestion = await session.get(MergeSuggestion, suggestion_id)
    if suggestion is None or customer_id not in (suggestion.customer_id, suggestion.owner_id):
        raise NotFound("this customer has no such suggestion")
    if suggestion.outcome is None:
        _settle(suggestion, DISMISSED, operator_id)
        session.add(suggestion)
        for one, two in (
            (suggestion.customer_id, suggestion.owner_id),
            (suggestion.owner_id, suggestion.customer_id),
        ):
            note(
                session,
                one,
                TimelineKind.DISMISS,
                channel=suggestion.channel,
                address=suggestion.address,
                other_customer_id=two,
                operator_id=operator_id,
            )
        await session.flush()
    return suggestion


async def do_settle_between(
    session: AsyncSession, one: int, two: int, outcome: str, operator_id: int | None
) -> None:
    """Every open suggestion between these two customers is settled (they just merged)."""
    rows = await session.scalars(
        select(MergeSuggestion).where(
            col(MergeSuggestion.outcome).is_(None),
            or_(
                (col(MergeSuggestion.customer_id) == one) & (col(MergeSuggestion.owner_id) == two),
                (col(MergeSuggestion.customer_id) == two) & (col(MergeSuggestion.owner_id) == one),
            ),
        )
    )
    for suggestion in rows:
        _settle(suggestion, outcome, operator_id)
        session.add(suggestion)


async def move_suggestions(session: AsyncSession, from_id: int, to_id: int) -> None:
    """A merged-away customer's suggestions become the survivor's (a duplicate is dropped)."""
    rows = list(
        await session.scalars(
            select(MergeSuggestion).where(
                or_(
                    col(MergeSuggestion.customer_id).in_([from_id, to_id]),
                    col(MergeSuggestion.owner_id).in_([from_id, to_id]),
                )
            )
        )
    )

    def moved(s: MergeSuggestion) -> tuple[int, int, str, str]:
        customer = to_id if s.customer_id == from_id else s.customer_id
        owner = to_id if s.owner_id == from_id else s.owner_id
        return (customer, owner, s.channel, s.address)

    seen: set[tuple[int, int, str, str]] = set()
    keep = []
    for suggestion in sorted(rows, key=lambda s: s.id or 0):
        if moved(suggestion) in seen:
            await session.delete(suggestion)
        else:
            seen.add(moved(suggestion))
            keep.append(suggestion)
    await session.flush()  # duplicates go before the others take their place
    for suggestion in keep:
        suggestion.customer_id, suggestion.owner_id, _, _ = moved(suggestion)
        if suggestion.customer_id == suggestion.owner_id and suggestion.outcome is None:
            _settle(suggestion, ACCEPTED, None)
        session.add(suggestion)
    await session.flush()
