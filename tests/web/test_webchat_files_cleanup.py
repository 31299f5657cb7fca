"""Uploaded files no message ever carried are removed after a grace period; files a
message carries, and files uploaded again since, stay."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from hub.chores.media_sweep import GRACE_SECONDS, SWEEP_SECONDS, MediaSweeper
from hub.media.store import media_store
from hub.web.webchat.files import UPLOAD_SECONDS
from tests.factories import messages_of
from tests.support import RunningHub, eventually
from tests.support.attachments import PDF, PNG
from tests.support.webchat import fetch, open_chat, receive, stored_files, upload

GRACE = 60.0  # seconds; the sweeps below look from a clock moved past it


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"media_dir": tmp_path / "media"}


def sweeper(hub: RunningHub, grace: float = GRACE) -> MediaSweeper:
    return MediaSweeper(hub.hub.db, media_store(hub.settings), grace=grace, interval=0.05)


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_grace_outlasts_an_upload_id() -> None:
    assert GRACE_SECONDS > UPLOAD_SECONDS


async def test_an_unsent_upload_is_gone_within_the_hour(hub: RunningHub) -> None:
    """Before: orphans stayed 48 h, so a stranger's uploads could pile up for two days.
    The sweep that runs at the latest before the hour is up (every SWEEP_SECONDS) removes
    it; a file a message carries stays."""
    ws, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    _, sent, _ = await upload(hub, token, PNG, "kept.png", "image/png")
    assert (await upload(hub, token, PDF, "never-sent.pdf", "application/pdf"))[0] == 201
    await ws.send_json(
        {"type": "message", "text": "", "client_id": "k", "attachments": [sent["upload_id"]]}
    )
    await receive(ws, "ack")
    await ws.close()
    default = MediaSweeper(hub.hub.db, media_store(hub.settings))  # the worker's settings
    assert await default.run_once(now=time.time() + 3600 - SWEEP_SECONDS) == 1
    [kept] = stored_files(hub)
    assert kept.read_bytes() == PNG


async def test_an_upload_never_sent_is_removed_after_the_grace_and_a_sent_one_stays(
    hub: RunningHub,
) -> None:
    ws, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    status, sent, _ = await upload(hub, token, PNG, "cup.png", "image/png")
    assert status == 201
    status, _, _ = await upload(hub, token, PDF, "never-sent.pdf", "application/pdf")
    assert status == 201
    await ws.send_json(
        {"type": "message", "text": "", "client_id": "f1", "attachments": [sent["upload_id"]]}
    )
    await receive(ws, "ack")
    crashed = hub.settings.media_dir / "ab" / "cd" / ".part-crashed"
    crashed.parent.mkdir(parents=True, exist_ok=True)
    crashed.write_bytes(b"half a file")
    assert len(stored_files(hub)) == 3

    assert await sweeper(hub).run_once() == 0  # everything is younger than the grace
    assert len(stored_files(hub)) == 3

    assert await sweeper(hub).run_once(now=time.time() + 2 * GRACE) == 1
    [kept] = stored_files(hub)
    assert kept.read_bytes() == PNG
    await ws.close()
    ws, welcome = await open_chat(hub, token)
    [shown] = welcome["history"]
    status, body, _ = await fetch(hub, shown["attachments"][0]["url"])
    assert status == 200 and body == PNG
    await ws.close()


async def test_a_file_uploaded_again_is_young_again(hub: RunningHub) -> None:
    """The store keeps one file per content: a new upload of an old orphan's bytes must
    not lose its file to the sweep."""
    _, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    assert (await upload(hub, token, PDF, "a.pdf", "application/pdf"))[0] == 201
    [orphan] = stored_files(hub)
    age(orphan, 3 * GRACE)
    assert (await upload(hub, token, PDF, "again.pdf", "application/pdf"))[0] == 201
    assert await sweeper(hub).run_once() == 0
    assert stored_files(hub) == [orphan]


async def test_the_sweep_runs_until_the_process_stops(hub: RunningHub) -> None:
    _, welcome = await open_chat(hub)
    assert (await upload(hub, welcome["visitor_token"], PDF, "a.pdf", "application/pdf"))[0] == 201
    [orphan] = stored_files(hub)
    age(orphan, 3 * GRACE)
    stopping = asyncio.Event()
    task = asyncio.create_task(sweeper(hub).run(stopping))
    try:
        await eventually(lambda: _gone(orphan), what="the orphan removed")
    finally:
        stopping.set()
        await asyncio.wait_for(task, 5)
    assert await messages_of(hub.hub, channel="webchat") == []


async def _gone(path: Path) -> bool:
    return not await asyncio.to_thread(path.exists)
