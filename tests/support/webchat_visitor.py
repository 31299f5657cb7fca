"""A web chat visitor on the real socket who may say who they are: a claim (no
identity_hash) or the shop's proof; it keeps every frame the hub sent."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.support import RunningHub, eventually

HMAC_SECRET = "shop-hmac-secret"  # the shops' HUB_WEBCHAT_HMAC_SECRET in these tests


def proof_of(address: str) -> str:
    """The identity_hash a shop's backend signs for a logged-in user."""
    return hmac.new(HMAC_SECRET.encode(), address.encode(), hashlib.sha256).hexdigest()


@dataclass
class Visitor:
    running: RunningHub
    token: str | None = None
    ws: aiohttp.ClientWebSocketResponse | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None
    _sent: int = 0

    async def open(self) -> Visitor:
        self.ws = await self.running.http.ws_connect(f"{self.running.url}/webchat/ws")
        self._reader = asyncio.create_task(self._read(self.ws))
        await self.ws.send_json(
            {"type": "hello", **({"visitor_token": self.token} if self.token else {})}
        )
        await eventually(lambda: self._count("welcome", 1), what="welcome")
        self.token = str(self.welcome()["visitor_token"])
        return self

    def welcome(self) -> dict[str, Any]:
        return [f for f in self.frames if f["type"] == "welcome"][-1]

    @property
    def visitor_id(self) -> str:
        assert self.token is not None
        return self.token.rpartition(".")[0]

    async def identify(self, *, proven: bool = False, **fields: str) -> None:
        assert self.ws is not None
        frame: dict[str, Any] = {"type": "identify", **fields}
        if proven:
            frame["identity_hash"] = proof_of(fields.get("email") or fields["phone"])
        welcomes = await self._count("welcome", 0)
        await self.ws.send_json(frame)
        if proven:  # the whole thread is theirs now: a new welcome
            await eventually(lambda: self._count("welcome", welcomes + 1), what="re-welcome")

    async def say(self, text: str) -> None:
        assert self.ws is not None
        self._sent += 1
        await self.ws.send_json({"type": "message", "text": text, "client_id": f"c{self._sent}"})
        await eventually(lambda: self._count("ack", self._sent), what="ack")

    def heard(self) -> list[str]:
        """What the hub said to this visitor (bot, operators, notifications), oldest first."""
        return [
            str(f["text"])
            for f in self.frames
            if f["type"] == "message" and f.get("sender_type") != "customer"
        ]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.frames.append(message.json())

    async def _count(self, kind: str, n: int) -> int | bool:
        seen = sum(1 for f in self.frames if f["type"] == kind)
        return seen if n == 0 else seen >= n
