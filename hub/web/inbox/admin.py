"""Admins manage operators (add, disable, enable, set a password), API tokens (revoke) and
canned responses."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from hub.actions.access import (
    access_admin,
    access_disable_operator,
    do_disable_operator,
    do_enable_operator,
    do_revoke_token,
    do_set_password,
    list_tokens,
    operator_by_id,
)
from hub.actions.canned import do_create_canned
from hub.actions.labels import labels_in_use
from hub.actions.macros import list_macros
from hub.actions.operator_locale import check_ui_locale, do_set_operator_locale
from hub.actions.operators import do_create_operator
from hub.actions.unit import unit_of_work
from hub.queries.canned import all_canned
from hub.queries.operators import list_operators
from hub.web.api.calls import path_id
from hub.web.inbox.common import action, hub_of, page, render
from hub.web.sessions import SESSION_COOKIE, SignedIn

ADMIN = "/inbox/admin"


@page
async def admin_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    access_admin(me.operator)
    async with hub_of(request).db.session() as session:
        operators = await list_operators(session)
        canned = await all_canned(session)
        tokens = await list_tokens(session)
        macros = await list_macros(session)
        labels = await labels_in_use(session)
    return await render(
        request,
        "inbox/admin.html",
        me=me,
        operators=operators,
        canned=canned,
        tokens=tokens,
        macros=macros,
        labels=labels,
    )


@action
async def add_operator(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    locale = check_ui_locale(form.get("locale") or "en")
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        operator = await do_create_operator(
            session,
            email=form.get("email", ""),
            name=form.get("name", ""),
            role=form.get("role", "agent"),
            password=form.get("password") or None,
        )
        await do_set_operator_locale(session, operator.id or 0, locale)
    return ADMIN


@action
async def add_canned(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_create_canned(session, form.get("shortcut", ""), form.get("text", ""))
    return ADMIN


@action
async def disable_operator(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        operator = await operator_by_id(session, path_id(request.match_info["id"]))
        access_disable_operator(me.operator, operator)
        await do_disable_operator(session, operator)
    return ADMIN


@action
async def enable_operator(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        do_enable_operator(
            session, await operator_by_id(session, path_id(request.match_info["id"]))
        )
    return ADMIN


@action
async def set_password(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    """Every session of that operator ends; an admin setting their own keeps this one."""
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        operator = await operator_by_id(session, path_id(request.match_info["id"]))
        own = request.cookies.get(SESSION_COOKIE) if operator.id == me.operator.id else None
        await do_set_password(session, operator, form.get("password", ""), keep_session=own)
    return ADMIN


@action
async def revoke_token(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_revoke_token(session, path_id(request.match_info["id"]))
    return ADMIN
