"""Routing settings an admin changes in the inbox (auto-assignment on/off, SLA targets),
kept in `hub_settings` so that every web and worker process reads the same values."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.sla import SlaPolicy
from hub.errors import InvalidInput
from hub.models import HubSetting

AUTO_ASSIGN = "routing.auto_assign"
SLA = "routing.sla"


async def _read(session: AsyncSession, key: str) -> str | None:
    value = await session.scalar(select(col(HubSetting.value)).where(col(HubSetting.key) == key))
    return None if value is None else str(value)


async def _write(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(HubSetting, key)
    if row is None:
        session.add(HubSetting(key=key, value=value))
    else:
        row.value = value
        session.add(row)
    await session.flush()


async def auto_assign_on(session: AsyncSession) -> bool:
    """Off until an admin turns it on: a team decides when the hub starts assigning."""
    return await _read(session, AUTO_ASSIGN) == "on"


async def do_set_auto_assign(session: AsyncSession, on: bool) -> None:
    await _write(session, AUTO_ASSIGN, "on" if on else "off")


async def sla_policy(session: AsyncSession) -> SlaPolicy:
    raw = await _read(session, SLA)
    if raw is None:
        return SlaPolicy()
    try:
        return SlaPolicy.model_validate_json(raw)
    except ValidationError:  # written by an older release: the defaults stand
        return SlaPolicy()


async def do_set_sla_policy(session: AsyncSession, data: dict[str, object]) -> SlaPolicy:
    try:
        policy = SlaPolicy.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"SLA targets: {exc.errors()[0]['msg']}") from None
    await _write(session, SLA, policy.model_dump_json())
    return policy
