"""Routing rules as stored data: saved only when `hub.domain.rules` accepts them."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.rules import Rule, parse_rule
from hub.errors import InvalidInput, NotFound
from hub.models import RoutingRule

MAX_NAME = 100
MAX_JSON = 20_000


@dataclass(frozen=True, slots=True)
class StoredRule:
    id: int
    name: str
    enabled: bool
    rule: Rule
    definition: str


def check_rule(definition: str) -> Rule:
    if len(definition) > MAX_JSON:
        raise InvalidInput(f"a rule is at most {MAX_JSON} characters of JSON")
    try:
        return parse_rule(definition)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"rule {where or 'JSON'}: {first['msg']}") from None


async def list_rules(session: AsyncSession, *, enabled_only: bool = False) -> list[StoredRule]:
    """In the order they run (position, then age). A stored rule that no longer validates
    (written by hand) is left out rather than stopping every other rule."""
    query = select(RoutingRule).order_by(col(RoutingRule.position), col(RoutingRule.id))
    if enabled_only:
        query = query.where(col(RoutingRule.enabled).is_(True))
    found = []
    for row in await session.scalars(query):
        try:
            rule = parse_rule(row.definition)
        except ValidationError:
            continue
        found.append(StoredRule(row.id or 0, row.name, row.enabled, rule, row.definition))
    return found


async def do_save_rule(
    session: AsyncSession, rule_id: int | None, name: str, definition: str, *, enabled: bool
) -> RoutingRule:
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME:
        raise InvalidInput(f"a rule name is 1 to {MAX_NAME} characters")
    rule = check_rule(definition)
    row = (
        RoutingRule(name=clean, definition="")
        if rule_id is None
        else await get_rule(session, rule_id)
    )
    row.name, row.enabled = clean, enabled
    row.definition = rule.model_dump_json()
    session.add(row)
    await session.flush()
    return row


async def get_rule(session: AsyncSession, rule_id: int) -> RoutingRule:
    row = await session.get(RoutingRule, rule_id)
    if row is None:
        raise NotFound(f"rule {rule_id} not found")
    return row


async def do_delete_rule(session: AsyncSession, rule_id: int) -> None:
    await session.delete(await get_rule(session, rule_id))
    await session.flush()
