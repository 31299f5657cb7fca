"""Run the web app (and, for `hub run`, the worker) until SIGTERM/SIGINT, then stop cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from hub.errors import ConfigurationError
from hub.runtime.services import close_hub, open_hub
from hub.runtime.worker import start_consumers
from hub.settings import Settings
from hub.web.app import create_app

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 8.0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, *, with_worker: bool, banner: str | None = None) -> None:
    app = create_app(
        settings, with_worker=with_worker, role="run" if with_worker else "web", migrate=with_worker
    )
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_SECONDS, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
    await site.start()
    log.info("listening", extra={"url": f"http://{settings.host}:{settings.port}"})
    if banner:
        print(banner, flush=True)
    try:
        await _until_signalled()
    finally:
        log.info("stopping: no new work, finishing what is in flight")
        await runner.cleanup()


async def work(
    settings: Settings, metrics_port: int | None, *, telegram_polling: bool, mail: bool = False
) -> None:
    """`hub worker`: consumers only, with their own /metrics when asked; `--mail` adds the
    SMTP listener and IMAP polling (run it in one worker process only)."""
    hub = await open_hub(settings, run_migrations=False)
    runner: web.AppRunner | None = None
    try:
        if mail and settings.smtp_listen is None and settings.imap_url is None:
            raise ConfigurationError(
                "--mail needs HUB_EMAIL_ADDRESS and HUB_SMTP_LISTEN or HUB_IMAP_URL"
            )
        if telegram_polling and hub.channels.telegram is None:
            raise ConfigurationError("--telegram-polling needs HUB_TELEGRAM_BOT_TOKEN")
        start_consumers(hub, "worker", mail=mail, telegram_polling=telegram_polling)
        if metrics_port is not None:
            from hub.web import ops, security_headers
            from hub.web.keys import HUB

            app = web.Application()
            app[HUB] = hub
            security_headers.install(app)
            app.add_routes(ops.routes())
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, settings.host, metrics_port).start()
        print(f"worker running (queue: {hub.queue.name})", file=sys.stderr, flush=True)
        await _until_signalled()
    finally:
        if runner is not None:
            await runner.cleanup()
        await close_hub(hub)
