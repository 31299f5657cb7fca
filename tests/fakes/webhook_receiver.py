"""A shop's tool receiving the hub's outgoing webhooks: a real aiohttp server on loopback
that records every POST and answers as each path is told (a status list per path: the
first call gets the first answer, the last one repeats; `slow` never answers in time)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from hub.domain.signing import verify

SLOW = -1  # an "answer" that keeps the hub waiting past its timeout


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data

    @property
    def event(self) -> str:
        return str(self.json["event"])

    def signed_by(self, secret: str, now: int) -> bool:
        return verify(secret, self.body, self.headers.get("X-Hub-Signature", ""), now)


@dataclass
class WebhookReceiver:
    answers: dict[str, list[int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def events(self, path: str, name: str) -> list[Received]:
        return [r for r in self.on(path) if r.event == name]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.path, dict(request.headers), body))
        script = self.answers.get(request.path, [200])
        calls = len(self.on(request.path))
        status = script[min(calls, len(script)) - 1]
        if status == SLOW:
            await self._release.wait()  # until the test ends: the hub gives up first
            return web.Response(status=200)
        if 300 <= status < 400:
            raise web.HTTPFound(self.url("/followed"))
        return web.Response(status=status, text="ok")

    async def __aenter__(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._runner is not None
        await self._runner.cleanup()
