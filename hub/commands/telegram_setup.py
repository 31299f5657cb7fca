"""`hub telegram set-webhook`: Telegram's HTTPS and port rules are checked here, only here."""

from __future__ import annotations

from urllib.parse import urlsplit

from hub.errors import ConfigurationError
from hub.registry import build_channels
from hub.settings import Settings

TELEGRAM_PORTS = {443, 80, 88, 8443}


async def set_webhook(settings: Settings, url: str | None) -> str:
    if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
        raise ConfigurationError("set HUB_TELEGRAM_BOT_TOKEN and HUB_TELEGRAM_WEBHOOK_SECRET first")
    target = url or f"{settings.base_url}/webhooks/telegram"
    parts = urlsplit(target)
    if parts.scheme != "https":
        raise ConfigurationError(f"Telegram only calls https:// webhooks, not {target}")
    if (parts.port or 443) not in TELEGRAM_PORTS:
        raise ConfigurationError("Telegram webhooks must use port 443, 80, 88 or 8443")

    async def nothing(_: object) -> None:
        return None

    channels = build_channels(settings, nothing)
    try:
        if channels.telegram is None:
            raise ConfigurationError("the Telegram channel is not configured")
        await channels.telegram.set_webhook(
            target, settings.telegram_webhook_secret.get_secret_value()
        )
    finally:
        await channels.close()
    return f"webhook set to {target}"
