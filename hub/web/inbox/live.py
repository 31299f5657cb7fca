"""Live notices for the inbox over Server-Sent Events.

Each notice is small JSON (`name`, `conversation_id`, `customer_id`, and on a customer's
message `sender` and the thread's `assignee_id`, so notify.js can tell the assignee without
asking); the page refetches the affected server-rendered fragments. On (re)connect the
page refetches everything, so an event missed while disconnected is never lost for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from hub.domain import events
from hub.web import sessions
from hub.web.inbox.common import hub_of, page
from hub.web.sessions import SignedIn

HEARTBEAT_SECONDS = 15.0
SHOWN = frozenset(
    {
        events.MESSAGE_CREATED,
        events.MESSAGE_UPDATED,
        events.CONVERSATION_CREATED,
        events.CONVERSATION_UPDATED,
        events.CUSTOMER_UPDATED,
        events.CUSTOMER_MERGED,
        events.WEBCHAT_TYPING,
    }
)
CLOSING = web.AppKey("inbox_closing", asyncio.Event)


async def closing(app: web.Application) -> None:
    """on_shutdown: end the open streams, so shutdown does not wait on them."""
    app[CLOSING].set()


@page
async def stream(request: web.Request, me: SignedIn) -> web.StreamResponse:
    hub = hub_of(request)
    stop = request.app[CLOSING]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    async with hub.broker.subscribe() as queue:
        await response.prepare(request)
        await response.write(b"retry: 1000\n: connected\n\n")
        stopping = asyncio.ensure_future(stop.wait())
        getting: asyncio.Future[events.Event] | None = None
        try:
            while not stop.is_set():
                getting = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getting, stopping},
                    timeout=HEARTBEAT_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if getting not in done:
                    getting.cancel()
                    if not await sessions.still_signed_in(request):
                        break  # ended, idle or disabled: the page's reconnect gets 401
                    await response.write(b": ping\n\n")
                    continue
                event = getting.result()
                if event.name not in SHOWN:
                    continue
                notice = {
                    "name": event.name,
                    "conversation_id": event.conversation_id,
                    "customer_id": event.customer_id,
                    "merged_id": event.data.get("merged_id"),
                    # For desktop notices: a customer's message, and whose thread it is.
                    "sender": event.data.get("sender"),
                    "assignee_id": event.data.get("assignee_id"),
                }
                await response.write(f"data: {json.dumps(notice)}\n\n".encode())
        except ConnectionResetError:
            pass  # the browser went away; EventSource reconnects if it still wants us
        finally:
            for task in (stopping, getting):
                if task is not None:
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
    return response
