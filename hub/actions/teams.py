"""Teams of operators, and a conversation's team and priority (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.conversations import changed
from hub.domain.hours import WeeklyHours, parse_hours, zone
from hub.domain.rules import PRIORITIES
from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import Conversation, Operator, Team, TeamMember

MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class TeamView:
    id: int
    name: str
    timezone: str
    hours: WeeklyHours
    member_ids: tuple[int, ...]


def _check_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME:
        raise InvalidInput(f"a team name is 1 to {MAX_NAME} characters")
    return clean


def check_hours(timezone: str, hours_json: str | None) -> tuple[str, str | None]:
    """A valid zone and schedule, as stored; InvalidInput names what is wrong."""
    try:
        zone(timezone.strip() or "UTC")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        hours = parse_hours(hours_json or None)
    except ValidationError as exc:
        raise InvalidInput(f"business hours: {exc.errors()[0]['msg']}") from None
    return timezone.strip() or "UTC", None if hours.always_open else hours.model_dump_json()


async def get_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


async def list_teams(session: AsyncSession) -> list[TeamView]:
    teams = list(await session.scalars(select(Team).order_by(func.lower(col(Team.name)))))
    members: dict[int, list[int]] = {}
    for team_id, operator_id in await session.execute(
        select(col(TeamMember.team_id), col(TeamMember.operator_id)).order_by(
            col(TeamMember.operator_id)
        )
    ):
        members.setdefault(team_id, []).append(operator_id)
    return [
        TeamView(
            t.id or 0, t.name, t.timezone, parse_hours(t.hours), tuple(members.get(t.id or 0, ()))
        )
        for t in teams
    ]


async def do_save_team(
    session: AsyncSession,
    team_id: int | None,
    name: str,
    member_ids: list[int],
    *,
    timezone: str = "UTC",
    hours_json: str | None = None,
) -> Team:
    """Create (team_id None) or change a team: name, members, zone and hours together."""
    clean = _check_name(name)
    tz, hours = check_hours(timezone, hours_json)
    wanted = sorted(set(member_ids))
    if wanted:
        known = set(
            await session.scalars(select(col(Operator.id)).where(col(Operator.id).in_(wanted)))
        )
        if missing := [i for i in wanted if i not in known]:
            raise InvalidInput(f"operator {missing[0]} does not exist")
    team = Team(name=clean) if team_id is None else await get_team(session, team_id)
    team.name, team.timezone, team.hours = clean, tz, hours
    session.add(team)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a team named {clean!r} exists already", code="team_exists") from None
    await session.execute(delete(TeamMember).where(col(TeamMember.team_id) == team.id))
    session.add_all(TeamMember(team_id=team.id, operator_id=i) for i in wanted)  # type: ignore[arg-type]
    await session.flush()
    return team


async def do_delete_team(session: AsyncSession, team_id: int) -> None:
    """Its conversations keep going, without a team; rules naming it skip that action."""
    team = await get_team(session, team_id)
    await session.execute(
        update(Conversation).where(col(Conversation.team_id) == team_id).values(team_id=None)
    )
    await session.execute(delete(TeamMember).where(col(TeamMember.team_id) == team_id))
    await session.delete(team)
    await session.flush()


async def do_set_team(
    session: AsyncSession, conversation: Conversation, team_id: int | None
) -> Conversation:
    if team_id is not None:
        await get_team(session, team_id)
    if conversation.team_id != team_id:
        conversation.team_id = team_id
        changed(session, conversation)
    return conversation


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority is one of {', '.join(PRIORITIES)}")
    return priority


def do_set_priority(
    session: AsyncSession, conversation: Conversation, priority: str
) -> Conversation:
    priority = check_priority(priority)
    if conversation.priority != priority:
        conversation.priority = priority
        changed(session, conversation)
    return conversation
