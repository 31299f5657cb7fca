"""Routing settings as every process reads them (hub_settings): auto-assignment on/off and
the SLA targets. Written by hub.actions.routing_settings."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.sla import SlaPolicy
from hub.models import HubSetting

AUTO_ASSIGN = "routing.auto_assign"
SLA = "routing.sla"


async def read_setting(session: AsyncSession, key: str) -> str | None:
    value = await session.scalar(select(col(HubSetting.value)).where(col(HubSetting.key) == key))
    return None if value is None else str(value)


async def auto_assign_on(session: AsyncSession) -> bool:
    """Off until an admin turns it on: a team decides when the hub starts assigning."""
    return await read_setting(session, AUTO_ASSIGN) == "on"


async def sla_policy(session: AsyncSession) -> SlaPolicy:
    raw = await read_setting(session, SLA)
    if raw is None:
        return SlaPolicy()
    try:
        return SlaPolicy.model_validate_json(raw)
    except ValidationError:  # written by an older release: the defaults stand
        return SlaPolicy()
