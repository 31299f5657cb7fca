"""Admins manage operators and canned responses."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from hub.actions import inbox
from hub.actions.canned import do_create_canned
from hub.actions.operator_locale import check_ui_locale, do_set_operator_locale
from hub.actions.operators import do_create_operator
from hub.actions.unit import unit_of_work
from hub.web.inbox.common import action, hub_of, page, render
from hub.web.sessions import SignedIn

ADMIN = "/inbox/admin"


@page
async def admin_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    inbox.access_admin(me.operator)
    async with hub_of(request).db.session() as session:
        operators = await inbox.list_operators(session)
        canned = await inbox.all_canned(session)
    return await render(request, "inbox/admin.html", me=me, operators=operators, canned=canned)


@action
async def add_operator(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    inbox.access_admin(me.operator)
    locale = check_ui_locale(form.get("locale") or "en")
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.broker) as session:
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
    inbox.access_admin(me.operator)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.broker) as session:
        await do_create_canned(session, form.get("shortcut", ""), form.get("text", ""))
    return ADMIN
