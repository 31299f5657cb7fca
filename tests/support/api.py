"""An operator as the tests drive one: the REST API client (`Api`), a cookie-keeping inbox
client (`Browser`), and a customer writing in on Telegram."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from hub.actions.operators import do_create_operator, do_create_token
from hub.models import Message
from tests.factories import messages_of, telegram_update
from tests.support.polling import eventually
from tests.support.running import RunningHub

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


async def customer_writes(running: RunningHub, user_id: int, text: str, **fields: Any) -> Message:
    """A real Telegram update through the webhook; returns the routed message."""
    assert await running.post_telegram(telegram_update(user_id, text, **fields)) == 200

    async def routed() -> Message | None:
        found = [m for m in await messages_of(running.hub, text=text) if m.direction == "inbound"]
        return found[-1] if found else None

    return await eventually(routed, what=f"{text!r} routed")


@dataclass
class Browser:
    """A cookie-keeping HTTP client signed in to the inbox (or not yet)."""

    running: RunningHub
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.running.url

    def cookie(self, name: str) -> str | None:
        for morsel in self.http.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None

    async def get(self, path: str, **kwargs: object) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.url + path, allow_redirects=False, **kwargs) as r:  # type: ignore[arg-type]
            return r.status, await r.text(), r

    async def post(
        self, path: str, data: dict[str, str], **kwargs: object
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(
            self.url + path,
            data=data,
            allow_redirects=False,
            **kwargs,  # type: ignore[arg-type]
        ) as r:
            return r.status, await r.text(), r

    async def sign_in(self, email: str, password: str = PASSWORD) -> int:
        await self.get("/inbox/login")
        token = self.cookie("hub_login_csrf") or ""
        status, _, _ = await self.post(
            "/inbox/login", {"email": email, "password": password, "csrf": token}
        )
        return status

    async def csrf(self) -> str:
        _, html, _ = await self.get("/inbox")
        found = re.search(r'data-csrf="([^"]+)"', html)
        assert found, html[:300]
        return found.group(1)


async def customer_card(api: Api, customer_id: int) -> dict[str, Any]:
    return dict(await api.get(f"/customers/{customer_id}"))
