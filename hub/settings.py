"""One settings object, read once from HUB_* variables and `.env`, passed down everywhere."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigurationError


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

    email_address: str | None = None
    smtp_url: SecretStr | None = None
    smtp_listen: str | None = None
    imap_url: SecretStr | None = None

    webchat_hmac_secret: SecretStr | None = None
    webchat_origins: str = "*"

    sandbox: bool = False
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024

    @field_validator("redis_url", "public_url", "email_address", "smtp_listen", mode="before")
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


def load_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.check()
    return settings
