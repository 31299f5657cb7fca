"""The `/sandbox` page: pick a channel and a customer, write as them, watch the exchange.

Operators only (an inbox session; CSRF on the post): a sandbox left on must not become a
way for anyone to make the hub send messages.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from hub.errors import HubError, InvalidInput
from hub.sandbox import writing
from hub.sandbox.customers import CHANNELS, Persona, demo_customers, new_address, persona
from hub.sandbox.exchange import Entry
from hub.sandbox.loopback import local_base
from hub.sandbox.state import SANDBOX, SandboxState
from hub.web.inbox.common import action, page, render
from hub.web.sessions import SignedIn

PAGE = "/sandbox"
SHOWN_ENTRIES = 200
VERSION_HEADER = "Sandbox-Version"
_PARAMS = ("channel", "customer", "name", "address")


def _channel_states(state: SandboxState) -> list[dict[str, str]]:
    settings = state.settings
    real = {
        "telegram": settings.telegram_enabled,
        "sms": settings.twilio_sms_from is not None,
        "whatsapp": settings.twilio_whatsapp_from is not None,
        "email": settings.email_address is not None,
    }
    rows = []
    for channel in CHANNELS:
        if channel == "webchat" or channel in state.channels:
            kind = "sandbox"
        else:
            kind = "real" if real.get(channel) else "off"
        rows.append({"name": channel, "kind": kind})
    return rows


def _query(request: web.Request | MultiDictProxy[str]) -> dict[str, str]:
    source = request.query if isinstance(request, web.Request) else request
    customers = demo_customers()
    return {
        "channel": source.get("channel", "telegram"),
        "customer": source.get("customer", customers[0].key if customers else "new"),
        "name": source.get("name", ""),
        "address": source.get("address", ""),
    }


def page_url(chosen: dict[str, str]) -> str:
    keep = {k: v for k, v in chosen.items() if v and k in _PARAMS}
    return f"{PAGE}?{urlencode(keep)}"


def _persona(chosen: dict[str, str]) -> Persona:
    return persona(chosen["channel"], chosen["customer"], chosen["name"], chosen["address"])


def _entries(state: SandboxState, who: Persona | None) -> list[Entry]:
    if who is None:
        return []
    return state.exchange.of(who.channel, who.address)[-SHOWN_ENTRIES:]


def clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at)) + " UTC"


@page
async def sandbox_page(request: web.Request, me: SignedIn) -> web.StreamResponse:
    state = request.app[SANDBOX]
    chosen = _query(request)
    if chosen["customer"] == "new" and not chosen["address"].strip():
        if chosen["channel"] in CHANNELS and chosen["channel"] != "webchat":
            raise web.HTTPSeeOther(page_url(chosen | {"address": new_address(chosen["channel"])}))
    who: Persona | None = None
    problem: str | None = None
    if chosen["channel"] != "webchat":
        try:
            who = _persona(chosen)
            if who.channel not in state.channels:
                raise InvalidInput(f"the {who.channel} channel is not served by the sandbox here")
        except HubError as exc:
            problem = exc.message
    return await render(
        request,
        "sandbox/page.html",
        me=me,
        chosen=chosen,
        channels=_channel_states(state),
        customers=demo_customers(),
        who=who if problem is None else None,
        problem=problem,
        entries=_entries(state, who) if problem is None else [],
        version=state.exchange.version,
        clock=clock,
    )


@page
async def exchange(request: web.Request, me: SignedIn) -> web.StreamResponse:
    """The entries list for one customer, polled by sandbox.js: 204 while nothing changed
    since the version the page holds, else the fragment and its version."""
    state = request.app[SANDBOX]
    who = _persona(_query(request))
    version = str(state.exchange.version)
    if request.query.get("version") == version:
        return web.Response(status=204, headers={"Cache-Control": "no-store"})
    response = await render(
        request, "sandbox/_entries.html", me=me, entries=_entries(state, who), clock=clock
    )
    response.headers[VERSION_HEADER] = version
    return response


@action
async def send(request: web.Request, me: SignedIn, form: MultiDictProxy[str]) -> str:
    state = request.app[SANDBOX]
    chosen = _query(form)
    who = _persona(chosen)
    subject = form.get("subject", "")[:200] if who.channel == "email" else ""
    share = form.get("share_contact") == "1"
    await writing.write(
        state, local_base(request), who, form.get("text", ""), subject, share_contact=share
    )
    return page_url(chosen)


def routes() -> list[web.RouteDef]:
    return [
        web.get(PAGE, sandbox_page),
        web.get(PAGE + "/exchange", exchange),
        web.post(PAGE + "/send", send),
    ]
