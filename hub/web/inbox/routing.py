"""The routing admin page (issue 16): auto-assignment, SLA targets, caps, teams and their
hours, and rules. Every operator may read it (who is in which team, what rules run);
only admins change it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.access import access_admin, operator_by_id
from hub.actions.assignment import online_operators
from hub.actions.conversations import get_conversation
from hub.actions.routing_settings import do_set_auto_assign, do_set_sla_policy
from hub.actions.rules import do_delete_rule, do_save_rule, get_rule, list_rules
from hub.actions.teams import (
    do_delete_team,
    do_save_team,
    do_set_priority,
    do_set_team,
    list_teams,
)
from hub.actions.unit import unit_of_work
from hub.domain.hours import DAYS
from hub.domain.rules import PRIORITIES
from hub.errors import InvalidInput
from hub.models import Conversation
from hub.models.base import utcnow
from hub.queries.operators import list_operators
from hub.queries.routing_settings import auto_assign_on, sla_policy
from hub.queries.sla import sla_states
from hub.web.api.calls import path_id
from hub.web.inbox.common import action, hub_of, page, render
from hub.web.sessions import SignedIn

# Every operator may read how routing is set (agents see it without forms); only admins
# change it, through the admin routes below.
ROUTING_PAGE = "/inbox/routing"
ROUTING = "/inbox/admin/routing"
_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
RULE_EXAMPLE = json.dumps(
    {
        "when": {"trigger": "new_conversation", "text_contains": ["refund", "возврат"]},
        "then": [
            {"action": "add_label", "label": "refund"},
            {"action": "set_priority", "priority": "high"},
        ],
    },
    ensure_ascii=False,
)


@page
async def routing_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    hub = hub_of(request)
    async with hub.db.session() as session:
        operators = [o for o in await list_operators(session) if not o.disabled]
        online = await online_operators(
            session, utcnow(), timedelta(minutes=hub.settings.online_minutes)
        )
        context: dict[str, Any] = {
            "auto_assign": await auto_assign_on(session),
            "policy": await sla_policy(session),
            "teams": await list_teams(session),
            "rules": await list_rules(session),
        }
    return await render(
        request,
        "inbox/routing.html",
        me=me,
        admin=me.operator.role == "admin",
        operators=operators,
        online=set(online),
        default_cap=hub.settings.auto_assign_cap,
        priorities=PRIORITIES,
        days=DAYS,
        rule_example=RULE_EXAMPLE,
        **context,
    )


def day_spans(text: str) -> list[list[str]]:
    """ "09:00-13:00, 14:00-18:00" as spans; empty text is a closed day."""
    spans = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        found = _SPAN.match(part)
        if not found:
            raise InvalidInput(f"business hours: {part!r} is not like 09:00-18:00")
        spans.append([t.zfill(5) for t in found.groups()])
    return spans


def hours_of(form: MultiDictProxy[str]) -> str | None:
    week = {day: day_spans(form.get(f"hours_{day}", "")) for day in DAYS}
    return json.dumps(week) if any(week.values()) else None


def _ids(form: MultiDictProxy[str], name: str) -> list[int]:
    return [path_id(v) for v in form.getall(name, [])]


@action
async def save_settings(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    """Auto-assignment on/off, SLA targets and per-operator caps, in one form."""
    access_admin(me.operator)
    hub = hub_of(request)
    targets: dict[str, object] = {}
    for priority in PRIORITIES:
        targets[priority] = {
            kind: _minutes(form.get(f"sla_{priority}_{kind}", "0"))
            for kind in ("first_response", "resolution")
        }
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_set_auto_assign(session, form.get("auto_assign") == "on")
        await do_set_sla_policy(session, targets)
        for operator in await list_operators(session):
            raw = form.get(f"cap_{operator.id}")
            if raw is None:
                continue
            operator.auto_assign_cap = _cap(raw)
            session.add(operator)
    return ROUTING_PAGE


def _minutes(raw: str) -> int:
    try:
        return int(raw.strip() or 0)
    except ValueError:
        raise InvalidInput(f"SLA target {raw!r} is not a number of minutes") from None


def _cap(raw: str) -> int | None:
    if not raw.strip():
        return None
    try:
        cap = int(raw)
    except ValueError:
        raise InvalidInput(f"cap {raw!r} is not a number") from None
    if not 1 <= cap <= 1000:
        raise InvalidInput("a cap is 1 to 1000 open conversations")
    return cap


@action
async def save_team(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    team_id = request.match_info.get("id")
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        for operator_id in _ids(form, "member"):
            await operator_by_id(session, operator_id)
        await do_save_team(
            session,
            path_id(team_id) if team_id else None,
            form.get("name", ""),
            _ids(form, "member"),
            timezone=form.get("timezone", "UTC"),
            hours_json=hours_of(form),
        )
    return ROUTING_PAGE


@action
async def delete_team(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_delete_team(session, path_id(request.match_info["id"]))
    return ROUTING_PAGE


@action
async def save_rule(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    rule_id = request.match_info.get("id")
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_save_rule(
            session,
            path_id(rule_id) if rule_id else None,
            form.get("name", ""),
            form.get("definition", ""),
            enabled=form.get("enabled") == "on",
        )
    return ROUTING_PAGE


@action
async def toggle_rule(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        row = await get_rule(session, path_id(request.match_info["id"]))
        row.enabled = form.get("enabled") == "on"
        session.add(row)
    return ROUTING_PAGE


@action
async def delete_rule(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_delete_rule(session, path_id(request.match_info["id"]))
    return ROUTING_PAGE


async def routing_of(session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
    """What the thread's routing controls show: teams to pick, priorities, SLA clocks."""
    states = await sla_states(session, [conversation], utcnow())
    return {
        "teams": await list_teams(session),
        "priorities": PRIORITIES,
        "thread_sla": states.get(conversation.id or 0),
    }


@action
async def set_team(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    conversation_id = path_id(request.match_info["id"])
    raw = form.get("team_id", "")
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        conversation = await get_conversation(session, conversation_id)
        await do_set_team(session, conversation, path_id(raw) if raw else None)
    return f"/inbox/conversations/{conversation_id}"


@action
async def set_priority(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    conversation_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        conversation = await get_conversation(session, conversation_id)
        do_set_priority(session, conversation, form.get("priority", ""))
    return f"/inbox/conversations/{conversation_id}"


def routes() -> list[web.RouteDef]:
    return [
        web.post("/inbox/conversations/{id}/team", set_team),
        web.post("/inbox/conversations/{id}/priority", set_priority),
        web.get(ROUTING_PAGE, routing_page),
        web.post(ROUTING + "/settings", save_settings),
        web.post(ROUTING + "/teams", save_team),
        web.post(ROUTING + "/teams/{id}", save_team),
        web.post(ROUTING + "/teams/{id}/delete", delete_team),
        web.post(ROUTING + "/rules", save_rule),
        web.post(ROUTING + "/rules/{id}", save_rule),
        web.post(ROUTING + "/rules/{id}/enabled", toggle_rule),
        web.post(ROUTING + "/rules/{id}/delete", delete_rule),
    ]
