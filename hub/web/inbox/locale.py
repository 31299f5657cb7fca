"""The header's EN / RU switch: stores the operator's language, then shows the same page."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from hub.actions.operator_locale import do_set_operator_locale
from hub.actions.unit import unit_of_work
from hub.web.inbox.common import action, hub_of, safe_next
from hub.web.sessions import SignedIn

SWITCH = "/inbox/me/locale"


@action
async def switch(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    """Kept on the operator, not the session: every later sign-in opens in this language."""
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_set_operator_locale(session, me.operator.id or 0, form.get("locale", ""))
    return safe_next(form.get("back"))
