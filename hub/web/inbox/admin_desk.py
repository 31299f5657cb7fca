"""Admins edit and delete canned responses, rename and delete labels, and manage macros;
operators run a macro from the thread. Thin: each calls one action."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from hub.actions.access import access_admin
from hub.actions.canned import do_delete_canned, do_update_canned, get_canned
from hub.actions.conversations import get_conversation
from hub.actions.labels import do_delete_label, do_rename_label
from hub.actions.macros import (
    MacroSteps,
    check_macro,
    do_create_macro,
    do_delete_macro,
    do_run_macro,
    do_update_macro,
    get_macro,
)
from hub.actions.unit import unit_of_work
from hub.web.api.calls import path_id
from hub.web.inbox.admin import ADMIN
from hub.web.inbox.common import action, hub_of
from hub.web.sessions import SignedIn

Form = MultiDictProxy[str]


def _steps(form: Form) -> MacroSteps:
    return check_macro(
        form.get("name", ""),
        form.get("text", ""),
        form.get("labels", "").split(","),
        form.get("status") or None,
        form.get("assign_to_me") == "1",
    )


@action
async def update_canned(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        canned = await get_canned(session, path_id(request.match_info["id"]))
        await do_update_canned(session, canned, form.get("shortcut", ""), form.get("text", ""))
    return ADMIN + "#canned"


@action
async def delete_canned(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_delete_canned(
            session, await get_canned(session, path_id(request.match_info["id"]))
        )
    return ADMIN + "#canned"


@action
async def rename_label(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_rename_label(session, form.get("label", ""), form.get("name", ""))
    return ADMIN + "#labels"


@action
async def delete_label(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_delete_label(session, form.get("label", ""))
    return ADMIN + "#labels"


@action
async def add_macro(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    steps = _steps(form)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_create_macro(session, steps)
    return ADMIN + "#macros"


@action
async def update_macro(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    steps = _steps(form)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        macro = await get_macro(session, path_id(request.match_info["id"]))
        await do_update_macro(session, macro, steps)
    return ADMIN + "#macros"


@action
async def delete_macro(request: web.Request, me: SignedIn, form: Form) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_delete_macro(session, await get_macro(session, path_id(request.match_info["id"])))
    return ADMIN + "#macros"


@action
async def run_macro(request: web.Request, me: SignedIn, form: Form) -> str:
    """Any operator runs a macro; where the reply went (the customer's open thread) is
    where the page goes next."""
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        conversation = await get_conversation(session, path_id(request.match_info["id"]))
        macro = await get_macro(session, path_id(form.get("macro_id", "")))
        conversation, _ = await do_run_macro(session, conversation, macro, me.operator)
    return f"/inbox/conversations/{conversation.id}"
