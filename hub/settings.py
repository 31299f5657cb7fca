"""One settings object, read once from HUB_* variables and `.env`, passed down everywhere."""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.domain.addresses import normalise_email
from hub.errors import ConfigurationError
from hub.intake.imap_account import parse_imap_url

DEFAULT_ATTACHMENT_TYPES = (
    "image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain,text/csv,"
    "audio/ogg,audio/mpeg,audio/mp4,audio/aac,audio/amr,video/mp4,video/quicktime,video/3gpp,"
    "application/msword,application/vnd.ms-excel,application/vnd.ms-powerpoint,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation,"
    "application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite:///./hub.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    secret_key: SecretStr | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    # WhatsApp Content templates by kind ({"order_status": "HX..."}), JSON; used outside
    # the 24 h window, where free-form text is refused.
    whatsapp_templates: dict[str, str] = Field(default_factory=dict)

    email_address: str | None = None
    smtp_url: SecretStr | None = None
    smtp_listen: str | None = None
    imap_url: SecretStr | None = None
    # STARTTLS on the SMTP listener: a PEM certificate (chain) and its private key.
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    # IMAP without IDLE: how often the mailbox is checked.
    imap_poll_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)
    # How often a worker opens snoozed conversations whose time has come (a snooze ends
    # at most this late).
    snooze_check_seconds: float = Field(default=20.0, gt=0.0, le=3600.0)
    # How long one request to Telegram, Twilio or the SMTP relay may take before the send
    # counts as failed (and is retried).
    provider_timeout_seconds: float = Field(default=30.0, gt=0.0, le=600.0)

    webchat_hmac_secret: SecretStr | None = None
    webchat_origins: str = "*"
    # A web chat reply the visitor has not seen this many minutes after it was sent (no
    # socket of theirs open since) is emailed once to their customer's proven email,
    # when email is configured; 0: never. How often a worker looks for such replies.
    webchat_email_after_minutes: float = Field(default=5.0, ge=0.0, le=7 * 24 * 60)
    webchat_email_check_seconds: float = Field(default=30.0, gt=0.0, le=3600.0)

    # Inbox sessions end after this long without a request, and this long after sign-in.
    session_idle_minutes: float = Field(default=30.0, gt=0.0, le=7 * 24 * 60)
    session_max_hours: float = Field(default=12.0, gt=0.0, le=30 * 24)

    # Bots answer new conversations (SPEC §7); 0: every conversation waits for a person.
    bots: bool = True

    # Routing (issue 16). Auto-assignment gives an operator at most this many open
    # conversations (an operator's own cap in admin overrides it).
    auto_assign_cap: int = Field(default=5, ge=1, le=1000)
    # An operator is online while an inbox session of theirs made a request this recently.
    online_minutes: float = Field(default=10.0, gt=0.0, le=24 * 60)
    # How often a worker routes new messages and waiting conversations (rules, out-of-hours
    # replies, auto-assignment).
    routing_check_seconds: float = Field(default=1.0, gt=0.0, le=3600.0)
    # A customer message is routed once the bots had this long to answer it (and to set
    # their intent labels), unless the conversation is already with a person.
    routing_settle_seconds: float = Field(default=1.0, ge=0.0, le=600.0)
    # Email the assignee when a customer waited this long without a reply; 0: never.
    waiting_alert_minutes: float = Field(default=0.0, ge=0.0, le=7 * 24 * 60)
    waiting_check_seconds: float = Field(default=30.0, gt=0.0, le=3600.0)

    # Customer satisfaction: when an operator resolves a conversation, the customer is asked
    # for a 1–5 rating on its channel; a bare rating within this many hours is the answer.
    csat: bool = False
    csat_window_hours: float = Field(default=72.0, gt=0.0, le=30 * 24)
    # The shop's FAQ knowledge file (markdown, see templates/faq/faq.md); unset: the bundled one.
    faq_file: Path | None = None
    # The shop's own labelled phrases ("label<TAB>text"), added by `hub bots train`.
    intent_extra: Path | None = None
    sandbox: bool = False
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the
    # client for per-address limits; empty: the TCP peer is the client.
    trusted_proxies: str = ""
    # `/metrics` answers loopback clients; others only with `Authorization: Bearer <this>`.
    metrics_token: SecretStr | None = None

    # Order feeds: Shopify and WooCommerce post signed order events to /webhooks/shopify
    # and /webhooks/woocommerce; each feed is on once its secret is set (the app's / the
    # webhook's secret, as the platform shows it).
    shopify_webhook_secret: SecretStr | None = None
    woocommerce_webhook_secret: SecretStr | None = None
    # The statuses a feed's status change tells the customer about (comma list), once per
    # status like the orders API's `notify`; empty: feeds never notify.
    order_notify_statuses: str = "shipped,ready_for_pickup,delivered,cancelled"
    # `hub shopify backfill`: the shop (`name` or `name.myshopify.com`), an Admin API access
    # token with read_orders, and the API's base URL (a local fake in tests).
    shopify_shop: str | None = None
    shopify_access_token: SecretStr | None = None
    shopify_api_url: str | None = None
    shopify_api_version: str = "2025-01"

    # Outgoing webhooks (admin page / `/api/v1/webhooks`): each POST's time limit, how many
    # tries a delivery gets (backoff doubling from `webhook_retry_seconds`, at most an
    # hour apart) and whether plain-http targets on loopback are allowed (tests, local
    # development only: anything else must be https on a public address).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0.0, le=120.0)
    webhook_max_attempts: int = Field(default=10, ge=1, le=50)
    webhook_retry_seconds: float = Field(default=5.0, gt=0.0, le=3600.0)
    webhook_allow_loopback: bool = False
    # Finished deliveries (and their tries) are kept this many days for the delivery log.
    webhook_keep_days: float = Field(default=7.0, gt=0.0, le=365.0)

    # External bot (agent bot API, README "External bots"): customer messages in
    # conversations with the bot are POSTed, signed, to this URL, and the built-in bots
    # stand aside; the bot answers through the REST API with a bot token (`hub agent-bot
    # token`). The signing key is HUB_AGENT_BOT_SECRET, else one derived from the secret key
    # (`hub agent-bot secret` prints it). A conversation whose customer waited this many
    # seconds for the bot without an answer goes to a person.
    agent_bot_url: str | None = None
    agent_bot_secret: SecretStr | None = None
    agent_bot_timeout: float = Field(default=30.0, gt=0.0, le=86_400.0)

    # Attachments: a folder relative to the current directory, like the SQLite file.
    # 20 MiB by default: Telegram's Bot API does not let bots download more anyway.
    media_dir: Path = Path("./media")
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    attachment_types: str = DEFAULT_ATTACHMENT_TYPES

    @field_validator(
        "redis_url",
        "public_url",
        "email_address",
        "smtp_listen",
        "smtp_tls_cert",
        "smtp_tls_key",
        "imap_url",
        "twilio_account_sid",
        "twilio_sms_from",
        "twilio_whatsapp_from",
        "metrics_token",
        "shopify_shop",
        "shopify_api_url",
        "agent_bot_url",
        "agent_bot_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def allowed_origins(self) -> set[str] | None:
        """None means any origin; otherwise the exact origins allowed on the web chat socket."""
        parts = {o.strip().rstrip("/") for o in self.webchat_origins.split(",") if o.strip()}
        return None if not parts or "*" in parts else parts

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(item.strip(), strict=False)
            for item in self.trusted_proxies.split(",")
            if item.strip()
        )

    @property
    def twilio_enabled(self) -> bool:
        return self.twilio_account_sid is not None

    @property
    def whatsapp_sender(self) -> str | None:
        sender = self.twilio_whatsapp_from
        if sender is None:
            return None
        return sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"

    @property
    def allowed_attachment_types(self) -> frozenset[str]:
        return frozenset(t.strip().lower() for t in self.attachment_types.split(",") if t.strip())

    @property
    def notify_statuses(self) -> frozenset[str]:
        """HUB_ORDER_NOTIFY_STATUSES as a set of the hub's status names."""
        parts = (p.strip().lower() for p in self.order_notify_statuses.split(","))
        return frozenset(p for p in parts if p)

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite"):
            return None
        path = self.database_url.split("///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)

    def check(self) -> None:
        """Refuse to start with a half-configured channel; name the missing variable."""
        if self.telegram_bot_token is not None and self.telegram_webhook_secret is None:
            raise ConfigurationError(
                "HUB_TELEGRAM_WEBHOOK_SECRET is required when HUB_TELEGRAM_BOT_TOKEN is set"
            )
        if self.telegram_webhook_secret is not None and self.telegram_bot_token is None:
            raise ConfigurationError(
                "HUB_TELEGRAM_BOT_TOKEN is required when HUB_TELEGRAM_WEBHOOK_SECRET is set"
            )
        if not self.database_url.startswith(("sqlite", "postgresql", "postgres")):
            raise ConfigurationError(
                "HUB_DATABASE_URL must be a sqlite:/// or postgresql:// URL, "
                f"got scheme {self.database_url.split(':', 1)[0]!r}"
            )
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://")):
            raise ConfigurationError("HUB_REDIS_URL must start with redis:// or rediss://")
        try:
            self.trusted_proxy_networks  # noqa: B018  (a bad entry is refused at start)
        except ValueError as exc:
            raise ConfigurationError(f"HUB_TRUSTED_PROXIES: {exc}") from None
        check_twilio(self)
        check_email(self)
        check_shopify(self)
        check_agent_bot(self)


def check_agent_bot(settings: Settings) -> None:
    url = settings.agent_bot_url
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"HUB_AGENT_BOT_URL must be an http:// or https:// URL with a host, got {url[:80]!r}"
        )


_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")


def check_twilio(settings: Settings) -> None:
    """Both credentials or neither; at least one sender; senders E.164 in form only."""
    sid, token = settings.twilio_account_sid, settings.twilio_auth_token
    senders = {
        "HUB_TWILIO_SMS_FROM": settings.twilio_sms_from,
        "HUB_TWILIO_WHATSAPP_FROM": settings.twilio_whatsapp_from,
    }
    if sid is None and token is None:
        for name, value in senders.items():
            if value is not None:
                raise ConfigurationError(
                    f"HUB_TWILIO_ACCOUNT_SID and HUB_TWILIO_AUTH_TOKEN are required when {name} "
                    "is set"
                )
        return
    if sid is None:
        raise ConfigurationError(
            "HUB_TWILIO_ACCOUNT_SID is required when HUB_TWILIO_AUTH_TOKEN is set"
        )
    if token is None or not token.get_secret_value():
        raise ConfigurationError(
            "HUB_TWILIO_AUTH_TOKEN is required when HUB_TWILIO_ACCOUNT_SID is set"
        )
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
        raise ConfigurationError("HUB_TWILIO_ACCOUNT_SID must look like AC followed by 32 hex")
    if all(v is None for v in senders.values()):
        raise ConfigurationError(
            "HUB_TWILIO_SMS_FROM or HUB_TWILIO_WHATSAPP_FROM is required when Twilio is set up"
        )
    for name, value in senders.items():
        number = (value or "").removeprefix("whatsapp:")
        if value is not None and not _E164.match(number):
            raise ConfigurationError(f"{name} must be an E.164 number like +15551234567")
    for kind, content_sid in settings.whatsapp_templates.items():
        if not _CONTENT_SID.match(content_sid):
            raise ConfigurationError(
                f"HUB_WHATSAPP_TEMPLATES: {kind!r} needs a Content SID like HX + 32 hex"
            )
    if not settings.twilio_api_url.startswith(("http://", "https://")):
        raise ConfigurationError("HUB_TWILIO_API_URL must be an http(s):// URL")


_SHOP = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}(\.myshopify\.com)?")


def check_shopify(settings: Settings) -> None:
    """The shop's Admin API is named by its myshopify.com handle; the API base is a URL."""
    if settings.shopify_shop is not None and not _SHOP.fullmatch(settings.shopify_shop):
        raise ConfigurationError(
            "HUB_SHOPIFY_SHOP must be the shop's handle, e.g. your-store or "
            "your-store.myshopify.com"
        )
    url = settings.shopify_api_url
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigurationError("HUB_SHOPIFY_API_URL must be an http(s):// URL")


def check_email(settings: Settings) -> None:
    """The mailbox address, an outbound relay and an inbound listener go together."""
    address = settings.email_address
    if address is None:
        for name, value in (
            ("HUB_SMTP_URL", settings.smtp_url),
            ("HUB_SMTP_LISTEN", settings.smtp_listen),
            ("HUB_IMAP_URL", settings.imap_url),
            ("HUB_SMTP_TLS_CERT", settings.smtp_tls_cert),
            ("HUB_SMTP_TLS_KEY", settings.smtp_tls_key),
        ):
            if value is not None and str(
                value.get_secret_value() if isinstance(value, SecretStr) else value
            ):
                raise ConfigurationError(f"HUB_EMAIL_ADDRESS is required when {name} is set")
        return
    if normalise_email(address) is None:
        raise ConfigurationError(f"HUB_EMAIL_ADDRESS is not an e-mail address: {address!r}")
    if settings.smtp_url is None:
        raise ConfigurationError("HUB_SMTP_URL is required when HUB_EMAIL_ADDRESS is set")
    relay = urlsplit(settings.smtp_url.get_secret_value())
    if relay.scheme not in ("smtp", "smtps") or not relay.hostname:
        raise ConfigurationError("HUB_SMTP_URL must look like smtp://[user:pass@]host:port")
    try:
        relay.port  # noqa: B018  (a bad port raises here, at start)
    except ValueError:
        raise ConfigurationError("HUB_SMTP_URL has an invalid port") from None
    if settings.imap_url is not None:
        parse_imap_url(settings.imap_url.get_secret_value())
    elif settings.smtp_listen is None:
        raise ConfigurationError(
            "HUB_SMTP_LISTEN or HUB_IMAP_URL is required when HUB_EMAIL_ADDRESS is set"
        )
    if settings.smtp_listen is not None:
        host, _, port = settings.smtp_listen.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigurationError("HUB_SMTP_LISTEN must be host:port, e.g. 0.0.0.0:2525")
    check_smtp_tls(settings)


def check_smtp_tls(settings: Settings) -> None:
    """Certificate and key go together, are readable and match: checked now, not at the
    first STARTTLS of a sending server."""
    cert, key = settings.smtp_tls_cert, settings.smtp_tls_key
    if cert is None and key is None:
        return
    if cert is None or key is None:
        given, missing = ("CERT", "KEY") if key is None else ("KEY", "CERT")
        raise ConfigurationError(
            f"HUB_SMTP_TLS_{missing} is required when HUB_SMTP_TLS_{given} is set"
        )
    if settings.smtp_listen is None:
        raise ConfigurationError("HUB_SMTP_LISTEN is required when HUB_SMTP_TLS_CERT is set")
    for name, path in (("HUB_SMTP_TLS_CERT", cert), ("HUB_SMTP_TLS_KEY", key)):
        try:
            path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{name}: cannot read {path}: {exc.strerror}") from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"HUB_SMTP_TLS_CERT / HUB_SMTP_TLS_KEY: not a PEM certificate and its key ({exc})"
        ) from None


def load_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if settings.sandbox:
        from hub.sandbox.config import with_sandbox_channels

        settings = with_sandbox_channels(settings)  # unconfigured channels → in-process fakes
    settings.check()
    return settings
