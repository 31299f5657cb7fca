"""REST API fixtures: an operator with a password and an API token, and a small client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hub.actions.operators import do_create_operator, do_create_token
from hub.models import Message
from tests.factories import messages_of, telegram_update
from tests.support import RunningHub, eventually

PASSWORD = "correct horse battery"


@dataclass
class Api:
    """Calls /api/v1 of a running hub as one operator; answers (status, JSON, headers)."""

    running: RunningHub
    token: str | None
    operator_id: int
    email: str

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: str | None = "default",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        sent = dict(headers or {})
        token = self.token if token == "default" else token
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": sent}
        if raw is not None:
            kwargs["data"] = raw
            sent.setdefault("Content-Type", "application/json")
        elif body is not None:
            kwargs["json"] = body
        url = f"{self.running.url}/api/v1{path}"
        async with self.running.http.request(method, url, **kwargs) as response:
            text = await response.text()
            assert response.content_type == "application/json", (response.status, text[:200])
            return response.status, await response.json(), dict(response.headers)

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, data, _ = await self.call(method, path, body)
        assert got == status, (method, path, got, data)
        return data

    async def get(self, path: str) -> Any:
        return await self.ok("GET", path)


async def make_api(running: RunningHub, email: str, name: str, role: str = "agent") -> Api:
    async with running.hub.db.session() as session:
        operator = await do_create_operator(
            session, email=email, name=name, role=role, password=PASSWORD
        )
        token = await do_create_token(session, operator)
        await session.commit()
    assert operator.id is not None
    return Api(running, token, operator.id, email)


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


async def customer_writes(running: RunningHub, user_id: int, text: str, **fields: Any) -> Message:
    """A real Telegram update through the webhook; returns the routed message."""
    assert await running.post_telegram(telegram_update(user_id, text, **fields)) == 200

    async def routed() -> Message | None:
        found = [m for m in await messages_of(running.hub, text=text) if m.direction == "inbound"]
        return found[-1] if found else None

    return await eventually(routed, what=f"{text!r} routed")
