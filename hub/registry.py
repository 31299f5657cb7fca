"""The one place adapters and bots are wired into the hub, chosen by settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from adapters.telegram import TelegramSender, TelegramWebhook
from adapters.webchat import WebchatSender
from hub.domain.messages import OutboundMessage
from hub.domain.ports import SendingAdapter
from hub.domain.types import Channel
from hub.settings import Settings


@dataclass
class Channels:
    senders: dict[Channel, SendingAdapter] = field(default_factory=dict)
    telegram_webhook: TelegramWebhook | None = None
    telegram: TelegramSender | None = None

    async def close(self) -> None:
        for sender in self.senders.values():
            await sender.close()


def build_channels(
    settings: Settings, push_webchat: Callable[[OutboundMessage], Awaitable[None]]
) -> Channels:
    channels = Channels()
    channels.senders[Channel.WEBCHAT] = WebchatSender(push_webchat)
    if settings.telegram_bot_token is not None and settings.telegram_webhook_secret is not None:
        channels.telegram_webhook = TelegramWebhook(
            settings.telegram_webhook_secret.get_secret_value()
        )
        channels.telegram = TelegramSender(
            settings.telegram_bot_token.get_secret_value(), settings.telegram_api_url
        )
        channels.senders[Channel.TELEGRAM] = channels.telegram
    return channels
