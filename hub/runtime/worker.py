"""The worker half: inbound routing and outbound delivery consumers, started and stopped."""

from __future__ import annotations

import asyncio
from typing import Protocol

from hub.actions.agent_bot import signing_secret
from hub.actions.attachments import FileAttacher
from hub.actions.bots import BotRunner
from hub.actions.feeds import Notices
from hub.chores.agent_bot_timeout import AgentBotTimeout
from hub.chores.attachment_fetcher import AttachmentFetcher
from hub.chores.media_sweep import MediaSweeper
from hub.chores.routing import RoutingChore
from hub.chores.snooze_wakeup import SnoozeAlarm
from hub.chores.waiting_alert import WaitingAlert
from hub.chores.webchat_mail import WebchatMail
from hub.domain.types import Channel
from hub.intake.imap_account import parse_imap_url
from hub.intake.imap_polling import MailboxPoller
from hub.intake.mail_listener import server_tls, start_listener
from hub.intake.telegram_polling import TelegramPolling
from hub.media.store import media_store
from hub.queue.agent_bot import AgentBotConsumer, AgentBotTarget
from hub.queue.consumers import InboundConsumer, OutboundConsumer
from hub.queue.feeds import FeedConsumer
from hub.queue.webhook_http import WebhookSender
from hub.queue.webhooks import RetryPolicy, WebhookConsumer
from hub.registry import build_bots, mailbox_opener
from hub.runtime.services import Hub, consumer_name

IMAP_TASK = "imap-poller"


class Job(Protocol):
    """Anything the worker keeps running in the background until the process stops."""

    async def run(self, stopping: asyncio.Event) -> None: ...


def start_consumers(
    hub: Hub, role: str = "worker", *, mail: bool | None = None, telegram_polling: bool = False
) -> None:
    """Start every background job of this process as a task; close_hub stops them."""
    for name, job in background_jobs(hub, role, mail=mail, telegram_polling=telegram_polling):
        hub.tasks.append(asyncio.create_task(job.run(hub.stopping), name=name))


def background_jobs(
    hub: Hub, role: str, *, mail: bool | None = None, telegram_polling: bool = False
) -> list[tuple[str, Job]]:
    """The one list of what a worker runs: consumers, chores and, where mail is taken in,
    the SMTP listener and the IMAP poller. Those run where the worker runs in one process
    (`hub run`) and in the one `hub worker --mail`; `mail=None` means "unless this is a
    plain `hub worker`". A new chore or listener is added here."""
    settings = hub.settings
    name = consumer_name(role, settings)
    # An external bot configured is the bot: the built-in ones stand aside (hub.actions.agent_bot).
    external_bot = settings.agent_bot_url is not None
    bots = BotRunner(build_bots(settings) if settings.bots and not external_bot else ())
    store = media_store(settings)
    files = FileAttacher(store, hub.secret_key, settings.base_url)
    jobs: list[tuple[str, Job]] = [
        (
            "inbound",
            InboundConsumer(hub.queue, name, hub.db, hub.broker, bots=bots, agent_bot=external_bot),
        ),
        (
            "outbound",
            OutboundConsumer(hub.queue, name, hub.db, hub.broker, hub.channels.senders, files),
        ),
        (
            "attachment-fetcher",
            AttachmentFetcher(
                hub.db,
                hub.broker,
                hub.queue,
                store,
                hub.channels.media,
                limit_bytes=settings.max_attachment_bytes,
                allowed_types=settings.allowed_attachment_types,
            ),
        ),
        (
            "snooze-alarm",
            SnoozeAlarm(hub.db, hub.queue, hub.broker, interval=settings.snooze_check_seconds),
        ),
        ("media-sweeper", MediaSweeper(hub.db, store)),
        ("routing", RoutingChore(hub.db, hub.queue, hub.broker, settings)),
        ("webhooks", _webhook_consumer(hub, name)),
    ]
    relay = hub.channels.senders.get(Channel.EMAIL)
    if settings.waiting_alert_minutes > 0 and relay is not None:
        alert = WaitingAlert(
            hub.db,
            hub.queue,
            hub.broker,
            relay,
            after_minutes=settings.waiting_alert_minutes,
            interval=settings.waiting_check_seconds,
            base_url=settings.base_url,
        )
        jobs.append(("waiting-alert", alert))
    if settings.webchat_email_after_minutes > 0 and relay is not None:
        missed = WebchatMail(
            hub.db,
            hub.queue,
            hub.broker,
            after_minutes=settings.webchat_email_after_minutes,
            interval=settings.webchat_email_check_seconds,
        )
        jobs.append(("webchat-mail", missed))
    if hub.channels.feeds:  # an order feed is configured: apply what its webhook queues
        notices = Notices(
            settings.notify_statuses, set(hub.channels.senders), settings.whatsapp_templates
        )
        jobs.append(("feeds", FeedConsumer(hub.queue, name, hub.db, hub.broker, notices)))
    if settings.agent_bot_url is not None:
        secret = settings.agent_bot_secret
        target = AgentBotTarget(
            settings.agent_bot_url,
            signing_secret(secret.get_secret_value() if secret else None, hub.secret_key),
            settings.agent_bot_timeout,
        )
        jobs.append(("agent-bot", AgentBotConsumer(hub.queue, name, hub.db, hub.broker, target)))
        timeout = AgentBotTimeout(hub.db, hub.queue, hub.broker, timeout=target.timeout)
        jobs.append(("agent-bot-timeout", timeout))
    if telegram_polling and hub.channels.telegram is not None:
        jobs.append(("telegram-polling", TelegramPolling(hub.db, hub.queue, hub.channels.telegram)))
    runs_mail = role != "worker" if mail is None else mail
    parse = hub.channels.parse_mail
    if runs_mail and settings.email_address and parse is not None:
        if settings.smtp_listen:
            jobs.append(("smtp-listener", MailListenerJob(hub)))
        if settings.imap_url:
            account = parse_imap_url(settings.imap_url.get_secret_value())
            poller = MailboxPoller(
                account,
                mailbox_opener(account),
                settings.email_address,
                parse,
                hub.queue,
                poll_seconds=settings.imap_poll_seconds,
            )
            jobs.append((IMAP_TASK, poller))
    return jobs


def _webhook_consumer(hub: Hub, name: str) -> WebhookConsumer:
    settings = hub.settings
    sender = WebhookSender(settings.webhook_timeout_seconds, settings.webhook_allow_loopback)
    policy = RetryPolicy(
        settings.webhook_max_attempts, settings.webhook_retry_seconds, settings.webhook_keep_days
    )
    return WebhookConsumer(hub.queue, name, hub.db, sender, policy)


class MailListenerJob:
    """The SMTP listener as a job: listen until the process stops."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def run(self, stopping: asyncio.Event) -> None:
        hub, settings, parse = self.hub, self.hub.settings, self.hub.channels.parse_mail
        if settings.smtp_listen is None or settings.email_address is None or parse is None:
            return
        tls = server_tls(settings.smtp_tls_cert, settings.smtp_tls_key)
        hub.mail_server = await start_listener(
            settings.smtp_listen, settings.email_address, parse, hub.queue, tls
        )
        try:
            await stopping.wait()
        finally:
            hub.mail_server.close()
            await hub.mail_server.wait_closed()
