"""A shop's own bot on loopback, as the agent bot API expects one: it receives the hub's
signed `message.created` events, checks `X-Hub-Signature` with the shared key the way a
receiver should (hub.domain.signing `verify`, within five minutes), and acts through the
hub's REST API with its bot token.

What it does with an event is its `behaviour`: `answer` (posts "echo: <text>" as the bot),
`handoff` (asks for a person), `silent` (200, nothing else), `fail` (500), `redirect` (302
to a path of its own, which records any request that follows it), `hang` (never answers
until the fake stops).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web

from hub.domain.signing import SIGNATURE_HEADER, verify

Behaviour = Literal["answer", "handoff", "silent", "fail", "redirect", "hang"]


@dataclass
class ReceivedEvent:
    body: dict[str, Any]
    signed: bool  # the signature checked out with the shared key
    headers: dict[str, str]


@dataclass
class FakeAgentBot:
    secret: str
    behaviour: Behaviour = "answer"
    hub_url: str = ""  # set once the hub runs
    token: str = ""  # the bot token, set once the hub runs
    events: list[ReceivedEvent] = field(default_factory=list)
    followed_redirects: int = 0
    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # API answers
    url: str = ""
    _runner: web.AppRunner | None = None
    _http: aiohttp.ClientSession | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot", self._event)
        app.router.add_route("*", "/elsewhere", self._elsewhere)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = aiohttp.ClientSession()
        self.url = f"http://127.0.0.1:{port}/bot"
        return self.url

    async def stop(self) -> None:
        self._stopping.set()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def signed_events(self) -> list[ReceivedEvent]:
        return [e for e in self.events if e.signed]

    async def _event(self, request: web.Request) -> web.Response:
        raw = await request.read()
        header = request.headers.get(SIGNATURE_HEADER, "")
        signed = verify(self.secret, raw, header, int(time.time()))
        event = ReceivedEvent(json.loads(raw), signed, dict(request.headers))
        self.events.append(event)
        if not signed:
            return web.Response(status=401)
        if self.behaviour == "fail":
            return web.Response(status=500, text="the bot is down")
        if self.behaviour == "redirect":
            raise web.HTTPFound("/elsewhere")
        if self.behaviour == "hang":
            await self._stopping.wait()
            return web.Response(status=503)
        conversation_id = event.body["conversation"]["id"]
        if self.behaviour == "answer":
            text = event.body["message"]["text"]
            await self.call(
                "POST", f"/conversations/{conversation_id}/messages", {"text": f"echo: {text}"}
            )
        elif self.behaviour == "handoff":
            body = {"reason": "asked about a refund"}
            await self.call("POST", f"/conversations/{conversation_id}/handoff", body)
        return web.json_response({"ok": True})

    async def _elsewhere(self, request: web.Request) -> web.Response:
        self.followed_redirects += 1
        return web.json_response({"ok": True})

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The hub's REST API with the bot token."""
        assert self._http is not None and self.hub_url and self.token
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.hub_url}/api/v1{path}"
        async with self._http.request(method, url, json=body, headers=headers) as response:
            answer = (response.status, await response.json())
        self.answers.append(answer)
        return answer
