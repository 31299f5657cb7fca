"""The worker half: inbound routing and outbound delivery consumers, started and stopped."""

from __future__ import annotations

import asyncio

from hub.actions.bots import BotRunner
from hub.mail_listener import start_listener
from hub.queue.consumers import InboundConsumer, OutboundConsumer
from hub.registry import build_bots
from hub.services import Hub, consumer_name


def start_consumers(hub: Hub, role: str = "worker", *, mail: bool | None = None) -> None:
    """Run both consumers as tasks of this process; close_hub stops them.

    The SMTP listener runs where the worker runs in one process (`hub run`) and in the one
    `hub worker --mail`; `mail=None` means "unless this is a plain `hub worker`".
    """
    name = consumer_name(role, hub.settings)
    bots = BotRunner(build_bots(hub.settings)) if hub.settings.bots else None
    inbound = InboundConsumer(hub.queue, name, hub.db, hub.broker, after_route=bots)
    outbound = OutboundConsumer(hub.queue, name, hub.db, hub.broker, hub.channels.senders)
    for consumer in (inbound, outbound):
        hub.tasks.append(asyncio.create_task(consumer.run(hub.stopping)))
    if (role != "worker" if mail is None else mail) and hub.settings.smtp_listen:
        hub.tasks.append(asyncio.create_task(serve_mail(hub)))


async def serve_mail(hub: Hub) -> None:
    """Listen for mail until the process stops."""
    settings, parse = hub.settings, hub.channels.parse_mail
    if settings.smtp_listen is None or settings.email_address is None or parse is None:
        return
    hub.mail_server = await start_listener(
        settings.smtp_listen, settings.email_address, parse, hub.queue
    )
    try:
        await hub.stopping.wait()
    finally:
        hub.mail_server.close()
        await hub.mail_server.wait_closed()
