"""Routing settings an admin changes in the inbox (auto-assignment on/off, SLA targets),
kept in `hub_settings` so that every web and worker process reads the same values
(hub.queries.routing_settings)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.sla import SlaPolicy
from hub.errors import InvalidInput
from hub.models import HubSetting
from hub.queries.routing_settings import AUTO_ASSIGN, SLA


async def _write(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(HubSetting, key)
    if row is None:
        session.add(HubSetting(key=key, value=value))
    else:
        row.value = value
        session.add(row)
    await session.flush()


async def do_set_auto_assign(session: AsyncSession, on: bool) -> None:
    await _write(session, AUTO_ASSIGN, "on" if on else "off")


async def do_set_sla_policy(session: AsyncSession, data: dict[str, object]) -> SlaPolicy:
    try:
        policy = SlaPolicy.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"SLA targets: {exc.errors()[0]['msg']}") from None
    await _write(session, SLA, policy.model_dump_json())
    return policy
