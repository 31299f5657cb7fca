"""The one place adapters and bots are wired into the hub, chosen by settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from adapters.email_parse import parse_mail, parse_mail_unparsed
from adapters.email_send import EmailSender
from adapters.imap import ImapSession
from adapters.media import TelegramMedia, TwilioMedia
from adapters.shopify import ShopifyWebhook
from adapters.shopify_api import ShopifyOrders
from adapters.telegram import TelegramSender, TelegramWebhook
from adapters.twilio import TwilioWebhook
from adapters.twilio_send import TwilioSender
from adapters.webchat import (
    ChatMessage,
    ClientFrame,
    FrameError,
    Hello,
    Identify,
    Rate,
    Typing,
    WebchatSender,
    error_frame,
    read_frame,
    said,
)
from adapters.woocommerce import WooCommerceWebhook
from bots.faq import FaqBot
from bots.handoff import FallbackBot, HandoffBot, TopicBot
from bots.order_status import OrderStatusBot
from hub.domain.bots import Bot
from hub.domain.media import MediaSource
from hub.domain.messages import OutboundMessage
from hub.domain.ports import FeedWebhook, OpenMailbox, OrderHistory, SendingAdapter, WebhookAdapter
from hub.domain.types import Channel
from hub.errors import ConfigurationError
from hub.intake.imap_account import ImapAccount
from hub.intake.mail_parsing import MailReader
from hub.resources import templates_dir
from hub.settings import Settings

# Re-exported for hub.web: the webhook view, and the web chat frames read at its edge.
__all__ = [
    "FEEDS",
    "WEBHOOKS",
    "Channels",
    "ChatMessage",
    "ClientFrame",
    "FrameError",
    "Hello",
    "Identify",
    "Rate",
    "TwilioWebhook",
    "Typing",
    "build_channels",
    "build_feeds",
    "error_frame",
    "read_frame",
    "said",
    "shopify_orders",
]

# Every webhook an adapter serves (`POST /webhooks/{name}`, hub.web.webhooks), and what a
# request there is told while its channel is not configured.
WEBHOOKS = {
    TelegramWebhook.name: "the Telegram channel is not configured",
    TwilioWebhook.name: "the Twilio channels are not configured",
}

# Every shop platform's order feed (`POST /webhooks/{name}`, hub.web.feeds), and what a
# delivery there is told while its feed is not configured.
FEEDS = {
    ShopifyWebhook.name: "the Shopify order feed is not configured (HUB_SHOPIFY_WEBHOOK_SECRET)",
    WooCommerceWebhook.name: (
        "the WooCommerce order feed is not configured (HUB_WOOCOMMERCE_WEBHOOK_SECRET)"
    ),
}


@dataclass
class Channels:
    senders: dict[Channel, SendingAdapter] = field(default_factory=dict)
    # The configured ones of WEBHOOKS, by name.
    webhooks: dict[str, WebhookAdapter] = field(default_factory=dict)
    telegram: TelegramSender | None = None
    # Twilio's delivery-status callbacks (`POST /webhooks/twilio/status`), signed the same.
    twilio_status: TwilioWebhook | None = None
    # The configured ones of FEEDS (shop platforms' order feeds), by name.
    feeds: dict[str, FeedWebhook] = field(default_factory=dict)
    # Email: how a received mail becomes an InboundMessage (raw, envelope sender, time).
    parse_mail: MailReader | None = None
    # How each channel's customer files are fetched (mail attachments are in the mail).
    media: dict[Channel, MediaSource] = field(default_factory=dict)

    async def close(self) -> None:
        for sender in self.senders.values():
            await sender.close()
        for source in self.media.values():
            await source.close()
        if self.parse_mail is not None:
            self.parse_mail.close()


def build_channels(
    settings: Settings, push_webchat: Callable[[OutboundMessage], Awaitable[None]]
) -> Channels:
    channels = Channels()
    channels.senders[Channel.WEBCHAT] = WebchatSender(push_webchat)
    channels.feeds = build_feeds(settings)
    if settings.telegram_bot_token is not None and settings.telegram_webhook_secret is not None:
        webhook = TelegramWebhook(settings.telegram_webhook_secret.get_secret_value())
        channels.webhooks[webhook.name] = webhook
        channels.telegram = TelegramSender(
            settings.telegram_bot_token.get_secret_value(),
            settings.telegram_api_url,
            timeout=settings.provider_timeout_seconds,
        )
        channels.senders[Channel.TELEGRAM] = channels.telegram
        channels.media[Channel.TELEGRAM] = TelegramMedia(
            settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url
        )
    _add_twilio(settings, channels)
    if settings.email_address is not None and settings.smtp_url is not None:
        # The mailbox's own mail coming back must never be answered (a mail loop).
        channels.parse_mail = MailReader(
            full=partial(parse_mail, hub_address=settings.email_address),
            cheap=partial(parse_mail_unparsed, hub_address=settings.email_address),
        )
        channels.senders[Channel.EMAIL] = EmailSender(
            settings.smtp_url.get_secret_value(),
            settings.email_address,
            timeout=settings.provider_timeout_seconds,
        )
    return channels


def _add_twilio(settings: Settings, channels: Channels) -> None:
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    if sid is None or token is None:
        return
    webhook = TwilioWebhook(token.get_secret_value())
    channels.webhooks[webhook.name] = channels.twilio_status = webhook
    media = TwilioMedia(sid, token.get_secret_value(), settings.twilio_api_url)
    channels.media[Channel.SMS] = channels.media[Channel.WHATSAPP] = media
    for channel, sender in (
        (Channel.SMS, settings.twilio_sms_from),
        (Channel.WHATSAPP, settings.whatsapp_sender),
    ):
        if sender is not None:
            channels.senders[channel] = TwilioSender(
                channel,
                account_sid=sid,
                auth_token=token.get_secret_value(),
                sender=sender,
                api_url=settings.twilio_api_url,
                status_callback=f"{settings.base_url}/webhooks/twilio/status",
                timeout=settings.provider_timeout_seconds,
            )


def build_feeds(settings: Settings) -> dict[str, FeedWebhook]:
    """The order feeds whose secret is set, by name."""
    feeds: dict[str, FeedWebhook] = {}
    for secret, make in (
        (settings.shopify_webhook_secret, ShopifyWebhook),
        (settings.woocommerce_webhook_secret, WooCommerceWebhook),
    ):
        if secret is not None and secret.get_secret_value():
            feed = make(secret.get_secret_value())
            feeds[feed.name] = feed
    return feeds


def shopify_orders(settings: Settings) -> OrderHistory:
    """The shop's stored orders through the Admin API (`hub shopify backfill`)."""
    shop, token = settings.shopify_shop, settings.shopify_access_token
    if not shop or token is None or not token.get_secret_value():
        raise ConfigurationError("set HUB_SHOPIFY_SHOP and HUB_SHOPIFY_ACCESS_TOKEN first")
    return ShopifyOrders(
        shop,
        token.get_secret_value(),
        settings.shopify_api_url,
        version=settings.shopify_api_version,
        timeout=settings.provider_timeout_seconds,
    )


def build_bots(settings: Settings) -> list[Bot]:
    """The bots a customer message is offered to, in order: the first that acts answers.
    A request for a person comes first; then an order's status; the FAQ; a topic only a
    person can settle (handed off, labelled); the fallback (not understood → handoff) last."""
    faq = settings.faq_file or templates_dir() / "faq" / "faq.md"
    return [HandoffBot(), OrderStatusBot(), FaqBot.from_file(faq), TopicBot(), FallbackBot()]


def mailbox_opener(account: ImapAccount) -> OpenMailbox:
    """How the IMAP poller opens a session to the support mailbox (aioimaplib)."""
    return lambda: ImapSession(account)
