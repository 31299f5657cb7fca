"""The worker half: inbound routing and outbound delivery consumers, started and stopped."""

from __future__ import annotations

import asyncio

from hub.actions.attachments import FileAttacher
from hub.actions.bots import BotRunner
from hub.attachment_fetcher import AttachmentFetcher
from hub.imap_account import parse_imap_url
from hub.imap_polling import MailboxPoller
from hub.mail_listener import server_tls, start_listener
from hub.media import media_store
from hub.media_cleanup import MediaSweeper
from hub.queue.consumers import InboundConsumer, OutboundConsumer
from hub.registry import build_bots
from hub.services import Hub, consumer_name
from hub.snooze_wakeup import SnoozeAlarm

IMAP_TASK = "imap-poller"


def start_consumers(hub: Hub, role: str = "worker", *, mail: bool | None = None) -> None:
    """Run both consumers as tasks of this process; close_hub stops them.

    The SMTP listener and the IMAP poller run where the worker runs in one process
    (`hub run`) and in the one `hub worker --mail`; `mail=None` means "unless this is a
    plain `hub worker`".
    """
    name = consumer_name(role, hub.settings)
    bots = BotRunner(build_bots(hub.settings) if hub.settings.bots else ())
    inbound = InboundConsumer(hub.queue, name, hub.db, hub.broker, bots=bots)
    store = media_store(hub.settings)
    files = FileAttacher(store, hub.secret_key, hub.settings.base_url)
    outbound = OutboundConsumer(hub.queue, name, hub.db, hub.broker, hub.channels.senders, files)
    for consumer in (inbound, outbound):
        hub.tasks.append(asyncio.create_task(consumer.run(hub.stopping)))
    fetcher = AttachmentFetcher(
        hub.db,
        hub.broker,
        hub.queue,
        store,
        hub.channels.media,
        limit_bytes=hub.settings.max_attachment_bytes,
        allowed_types=hub.settings.allowed_attachment_types,
    )
    hub.tasks.append(asyncio.create_task(fetcher.run(hub.stopping)))
    alarm = SnoozeAlarm(hub.db, hub.broker, interval=hub.settings.snooze_check_seconds)
    hub.tasks.append(asyncio.create_task(alarm.run(hub.stopping)))
    sweeper = MediaSweeper(hub.db, store)
    hub.tasks.append(asyncio.create_task(sweeper.run(hub.stopping)))
    runs_mail = role != "worker" if mail is None else mail
    if runs_mail:
        if hub.settings.smtp_listen:
            hub.tasks.append(asyncio.create_task(serve_mail(hub)))
        if hub.settings.imap_url:
            hub.tasks.append(asyncio.create_task(poll_mailbox(hub), name=IMAP_TASK))


async def serve_mail(hub: Hub) -> None:
    """Listen for mail until the process stops."""
    settings, parse = hub.settings, hub.channels.parse_mail
    if settings.smtp_listen is None or settings.email_address is None or parse is None:
        return
    tls = server_tls(settings.smtp_tls_cert, settings.smtp_tls_key)
    hub.mail_server = await start_listener(
        settings.smtp_listen, settings.email_address, parse, hub.queue, tls
    )
    try:
        await hub.stopping.wait()
    finally:
        hub.mail_server.close()
        await hub.mail_server.wait_closed()


async def poll_mailbox(hub: Hub) -> None:
    """Fetch mail from the IMAP mailbox until the process stops."""
    settings, parse = hub.settings, hub.channels.parse_mail
    if settings.imap_url is None or settings.email_address is None or parse is None:
        return
    poller = MailboxPoller(
        parse_imap_url(settings.imap_url.get_secret_value()),
        settings.email_address,
        parse,
        hub.queue,
        poll_seconds=settings.imap_poll_seconds,
    )
    await poller.run(hub.stopping)
