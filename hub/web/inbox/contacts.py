"""Logging a phone call or an in-store visit from the thread or the customer card."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from hub.actions.contact_log import do_log_contact
from hub.actions.conversations import get_conversation
from hub.actions.unit import unit_of_work
from hub.web.api.calls import path_id
from hub.web.inbox.common import action, hub_of
from hub.web.sessions import SignedIn


@action
async def log_contact(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    conversation_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_log_contact(
            session,
            await get_conversation(session, conversation_id),
            form.get("kind", ""),
            form.get("contact_text", ""),
            operator_id=me.operator.id,
        )
    return f"/inbox/conversations/{conversation_id}"
