"""The hub's secret key: from HUB_SECRET_KEY, else generated once and shared through the DB."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from hub.db import Database
from hub.models import HubSetting

SECRET_KEY = "secret_key"


async def load_secret_key(db: Database, configured: str | None) -> bytes:
    if configured:
        return configured.encode()
    dialect = sqlite if db.is_sqlite else postgresql
    async with db.session() as session:
        # Insert-if-absent then read: every process ends with the first one's key.
        await session.execute(
            dialect.insert(HubSetting)
            .values(key=SECRET_KEY, value=secrets.token_urlsafe(48))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        await session.commit()
        value = await session.scalar(
            select(col(HubSetting.value)).where(col(HubSetting.key) == SECRET_KEY)
        )
    return str(value).encode()


def sign(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:40]


def token_hash(token: str) -> str:
    """API tokens are stored as their SHA-256: high-entropy, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
