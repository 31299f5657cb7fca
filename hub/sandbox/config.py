"""Fill every channel the user has not configured with sandbox values that point at the
in-process fake providers; a channel configured for real stays exactly as configured.

Secrets are derived from `HUB_SECRET_KEY` when it is set (so `hub web` and `hub worker`
agree), else random for this process: the webhooks are public even in a sandbox, and a
guessable token would let anyone on the network post as a customer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
from typing import TYPE_CHECKING

from pydantic import SecretStr

from hub.errors import ConfigurationError

if TYPE_CHECKING:
    from hub.settings import Settings

PROVIDERS_PATH = "/sandbox/providers"
SANDBOX_MAILBOX = "support@sandbox.hub.test"
# Twilio's own test numbers: the "magic" SMS sender and the WhatsApp sandbox sender.
SANDBOX_SMS_FROM = "+15005550006"
SANDBOX_WHATSAPP_FROM = "whatsapp:+14155238886"
SANDBOX_BOT_ID = 700000001


def loopback_base(settings: Settings) -> str:
    """How this process reaches its own HTTP listener (the fakes are routes of the hub)."""
    if settings.port == 0:
        raise ConfigurationError("HUB_SANDBOX=1 needs a fixed HUB_PORT (not 0)")
    host = settings.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host.strip('[]')}]"
    return f"http://{host}:{settings.port}"


def provider_url(settings: Settings, provider: str) -> str:
    return f"{loopback_base(settings)}{PROVIDERS_PATH}/{provider}"


def _secret(settings: Settings, purpose: str, length: int = 32) -> str:
    if settings.secret_key is None:
        return secrets.token_hex(length // 2)
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"sandbox:{purpose}".encode(), hashlib.sha256).hexdigest()[:length]


def free_loopback_port() -> int:
    """A port free right now on 127.0.0.1 (the relay and the listener bind it at start)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _telegram_unset(settings: Settings) -> bool:
    return settings.telegram_bot_token is None and settings.telegram_webhook_secret is None


def _twilio_unset(settings: Settings) -> bool:
    return all(
        value is None
        for value in (
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_sms_from,
            settings.twilio_whatsapp_from,
        )
    )


def _email_unset(settings: Settings) -> bool:
    return all(
        value is None
        for value in (
            settings.email_address,
            settings.smtp_url,
            settings.smtp_listen,
            settings.imap_url,
        )
    )


def with_sandbox_channels(settings: Settings) -> Settings:
    """The settings to run with: unchanged unless `sandbox` is on."""
    if not settings.sandbox:
        return settings
    update: dict[str, object] = {}
    if _telegram_unset(settings):
        update |= {
            "telegram_bot_token": SecretStr(f"{SANDBOX_BOT_ID}:{_secret(settings, 'telegram')}"),
            "telegram_webhook_secret": SecretStr(_secret(settings, "telegram-webhook")),
            "telegram_api_url": provider_url(settings, "telegram"),
        }
    if _twilio_unset(settings):
        update |= {
            "twilio_account_sid": "AC" + _secret(settings, "twilio-sid"),
            "twilio_auth_token": SecretStr(_secret(settings, "twilio-token")),
            "twilio_sms_from": SANDBOX_SMS_FROM,
            "twilio_whatsapp_from": SANDBOX_WHATSAPP_FROM,
            "twilio_api_url": provider_url(settings, "twilio"),
        }
    if _email_unset(settings):
        update |= {
            "email_address": SANDBOX_MAILBOX,
            "smtp_url": SecretStr(f"smtp://127.0.0.1:{free_loopback_port()}"),
            "smtp_listen": f"127.0.0.1:{free_loopback_port()}",
        }
    return settings.model_copy(update=update)


def sandboxed_channels(settings: Settings) -> frozenset[str]:
    """The channels this process serves from the fakes (the others are real or off)."""
    if not settings.sandbox:
        return frozenset()
    found: set[str] = set()
    try:
        if settings.telegram_enabled and settings.telegram_api_url == provider_url(
            settings, "telegram"
        ):
            found.add("telegram")
        if settings.twilio_enabled and settings.twilio_api_url == provider_url(settings, "twilio"):
            if settings.twilio_sms_from is not None:
                found.add("sms")
            if settings.twilio_whatsapp_from is not None:
                found.add("whatsapp")
    except ConfigurationError:
        pass  # port 0: nothing could have been pointed at this process
    if settings.email_address == SANDBOX_MAILBOX and settings.smtp_url is not None:
        found.add("email")
    return frozenset(found)
