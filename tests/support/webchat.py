"""The web chat as a browser uses it: the socket (hello, frames by kind) and file uploads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.support.running import RunningHub


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of `kind`, skipping others (typing, say); fails after 10 s."""
    while True:
        frame = await ws.receive_json(timeout=10)
        if frame["type"] == kind:
            return frame


async def open_chat(
    running: RunningHub, token: str | None = None
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await running.http.ws_connect(f"{running.url}/webchat/ws")
    await ws.send_json({"type": "hello", "visitor_token": token} if token else {"type": "hello"})
    return ws, await receive(ws, "welcome")


async def upload(
    running: RunningHub,
    token: str | None,
    data: bytes,
    filename: str,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    form = aiohttp.FormData(quote_fields=False)  # names as browsers send them
    if token is not None:
        form.add_field("visitor_token", token)
    form.add_field("file", data, filename=filename, content_type=content_type)
    async with running.http.post(
        f"{running.url}/webchat/upload", data=form, headers=headers or {}
    ) as answer:
        return answer.status, await answer.json(), dict(answer.headers)


def stored_files(running: RunningHub) -> list[Path]:
    root = running.settings.media_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def fetch(running: RunningHub, url: str) -> tuple[int, bytes, dict[str, str]]:
    async with running.http.get(url) as answer:
        return answer.status, await answer.read(), dict(answer.headers)
