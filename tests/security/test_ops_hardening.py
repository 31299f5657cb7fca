"""Operations (SPEC §9): who may read /metrics, /healthz on a database that cannot be
written, the headers every response carries, recipients kept out of INFO logs, and a
read-only database at start said in one line."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from hub.settings import Settings
from tests.conftest import make_settings
from tests.fakes.smtp_relay import SmtpRelay
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.cli import clean_env, run_hub
from tests.support.disk import fill
from tests.support.mail import MAILBOX, deliver, mail, mail_settings

OUTSIDE = {"X-Forwarded-For": "203.0.113.50"}  # a client the trusted proxy speaks for


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"trusted_proxies": "127.0.0.1"}


async def status_of(running: RunningHub, path: str, headers: dict[str, str]) -> int:
    async with running.http.get(f"{running.url}{path}", headers=headers) as answer:
        await answer.read()
        return answer.status


async def test_metrics_answer_loopback_and_refuse_others(hub: RunningHub) -> None:
    """Before: /metrics was public."""
    assert await status_of(hub, "/metrics", {}) == 200  # Prometheus beside the hub
    assert await status_of(hub, "/metrics", OUTSIDE) == 401  # no token set: loopback only
    assert await status_of(hub, "/metrics", {**OUTSIDE, "Authorization": "Bearer x"}) == 401


async def test_metrics_answer_others_with_the_token(settings: Settings) -> None:
    running = await start_hub(settings.model_copy(update={"metrics_token": SecretStr("scrape-me")}))
    try:
        bearer = {**OUTSIDE, "Authorization": "Bearer scrape-me"}
        assert await status_of(running, "/metrics", bearer) == 200
        for wrong in ("Bearer scrape-mf", "Bearer ", "scrape-me", "Bearer scrape-me\u00e9"):
            wrong_header = {**OUTSIDE, "Authorization": wrong.encode().decode("latin-1")}
            assert await status_of(running, "/metrics", wrong_header) == 401, wrong
        assert await status_of(running, "/healthz", OUTSIDE) == 200  # health stays open
    finally:
        await stop_hub(running)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_every_response_says_nosniff_and_a_referrer_policy(hub: RunningHub) -> None:
    """Before: no response carried either header."""
    for method, path in (
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/webchat/widget.js"),
        ("GET", "/inbox/login"),
        ("GET", "/api/v1/conversations"),  # 401 JSON
        ("GET", "/no/such/page"),  # 404
        ("POST", "/webhooks/telegram"),  # 403
        ("GET", "/media/1/1/x"),
    ):
        async with hub.http.request(method, f"{hub.url}{path}") as answer:
            await answer.read()
            assert answer.headers.get("X-Content-Type-Options") == "nosniff", (path, answer.status)
            assert answer.headers.get("Referrer-Policy") == "same-origin", path


async def test_healthz_takes_a_real_write_on_every_backend(hub: RunningHub) -> None:
    async with hub.http.get(f"{hub.url}/healthz") as answer:
        body = await answer.json()
    assert answer.status == 200 and body["checks"]["database_write"] == "ok", body


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_healthz_is_503_while_the_disk_is_full(settings: Settings, small_disk: Path) -> None:
    """Before: /healthz said ok while no webhook could be stored."""
    settings = settings.model_copy(update={"database_url": f"sqlite:///{small_disk}/hub.db"})
    running = await start_hub(settings)
    filler = small_disk / "filler"

    async def health() -> int:
        return await status_of(running, "/healthz", {})

    try:
        assert await health() == 200
        await asyncio.to_thread(fill, filler)

        async def refused() -> bool:
            return await health() == 503

        await eventually(refused, timeout=30, what="/healthz 503 on the full disk")
        filler.unlink()

        async def back() -> bool:
            return await health() == 200

        await eventually(back, timeout=30, what="/healthz 200 once space is freed")
    finally:
        filler.unlink(missing_ok=True)
        await stop_hub(running)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_smtp_listener_logs_recipients_at_debug_only(
    backend_urls: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Before: aiosmtpd logged every RCPT (and the command line) at INFO."""
    relay = SmtpRelay()
    await relay.__aenter__()
    running = await start_hub(mail_settings(backend_urls, relay))
    try:
        with caplog.at_level(logging.INFO):
            await deliver(running, mail())
        assert not [r for r in caplog.records if MAILBOX in r.getMessage()], caplog.text
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="mail.log"):
            await deliver(running, mail())
        recipients = [r for r in caplog.records if MAILBOX in r.getMessage()]
        assert recipients and {r.levelno for r in recipients} == {logging.DEBUG}
    finally:
        await stop_hub(running)
        await relay.__aexit__(None, None, None)


def read_only_mount(folder: Path) -> None:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*sudo, "mount", "-o", "remount,ro", str(folder)], check=True)


async def test_a_read_only_database_at_start_is_one_readable_line(small_disk: Path) -> None:
    """Before: `hub run` on a read-only database ended in a 200-line traceback."""
    env = clean_env(HUB_DATABASE_URL=f"sqlite:///{small_disk}/hub.db", HUB_PORT="0")
    assert (await run_hub(small_disk.parent, env, "migrate"))[0] == 0
    read_only_mount(small_disk)
    for command in ("run", "migrate"):
        code, _, err = await run_hub(small_disk.parent, env, command)
        assert code == 1, err
        assert err.startswith("hub: error: the database cannot be used") and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(Exception, match="HUB_TRUSTED_PROXIES"):
        make_settings(trusted_proxies="10.0.0.0/8, proxy.local").check()
