"""CLI commands that talk to a provider or serve: run as real processes on loopback."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.servers import free_port
from tests.support import eventually
from tests.support.cli import HUB, clean_env, run_hub


async def test_set_webhook_registers_the_public_url_and_secret(
    tmp_path: Path, fake_telegram: FakeTelegramAPI
) -> None:
    env = clean_env(
        HUB_TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        HUB_TELEGRAM_WEBHOOK_SECRET="hook-secret",
        HUB_TELEGRAM_API_URL=fake_telegram.base_url,
        HUB_PUBLIC_URL="https://support.shop.test",
    )
    code, out, err = await run_hub(tmp_path, env, "telegram", "set-webhook")
    assert code == 0, err
    assert "https://support.shop.test/webhooks/telegram" in out
    assert fake_telegram.webhook_url == "https://support.shop.test/webhooks/telegram"
    assert fake_telegram.webhook_secret == "hook-secret"
    assert "hook-secret" not in out + err and DEFAULT_TOKEN not in out + err


async def test_a_worker_serves_its_own_metrics_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = clean_env(HUB_DATABASE_URL=f"sqlite:///{tmp_path}/hub.db")
    assert (await run_hub(tmp_path, env, "migrate"))[0] == 0
    port = free_port()
    worker = await asyncio.create_subprocess_exec(
        HUB,
        "worker",
        "--metrics-port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def scraped() -> str | None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                        return await response.text() if response.status == 200 else None
                except aiohttp.ClientError:
                    return None

            text = await eventually(scraped, timeout=30, what="worker /metrics")
        assert 'hub_messages_routed_total{channel="telegram"}' in text
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 10) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


async def test_a_web_process_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = clean_env(HUB_DATABASE_URL=f"sqlite:///{tmp_path}/hub.db", HUB_PORT=str(free_port()))
    code, _, err = await run_hub(tmp_path, env, "web")
    assert code == 2 and "hub migrate" in err
