"""What the sandbox holds while it runs, shared under one typed app key."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from hub.sandbox.exchange import Exchange
from hub.settings import Settings


@dataclass
class SandboxState:
    settings: Settings
    channels: frozenset[str]  # served by the fakes; the others are real or off
    exchange: Exchange = field(default_factory=Exchange)
    http: aiohttp.ClientSession | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def client(self) -> aiohttp.ClientSession:
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self.http

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Background work (status callbacks); a reference is kept until it ends."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.close()


SANDBOX = web.AppKey("sandbox", SandboxState)
