"""Health and metrics: for load balancers and Prometheus.

`/healthz` needs no auth (it says only ok or not, and why in one word). `/metrics` tells
traffic and failures: it answers loopback clients (Prometheus beside the hub) and others
only with `Authorization: Bearer HUB_METRICS_TOKEN` when that is set (SPEC §9).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from aiohttp import web
from sqlalchemy import text

from hub import metrics
from hub.queue.port import QUEUES
from hub.web.client_address import client_address
from hub.web.health_probe import WriteProbe
from hub.web.keys import HUB


async def _database_ping(request: web.Request) -> None:
    async with request.app[HUB].db.session() as session:
        await session.execute(text("SELECT 1"))


async def healthz(request: web.Request, writes: WriteProbe) -> web.Response:
    """200 only when the database answers and takes a write, and the queue answers."""
    hub = request.app[HUB]
    checks: dict[str, str] = {}
    for name, probe in (
        ("database", _database_ping(request)),
        ("database_write", writes.check(hub.db, hub.settings.sqlite_path())),
        ("queue", hub.queue.ping()),
    ):
        try:
            await asyncio.wait_for(probe, 3)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _may_read_metrics(request: web.Request) -> bool:
    try:
        if ipaddress.ip_address(client_address(request)).is_loopback:
            return True
    except ValueError:
        pass
    token = request.app[HUB].settings.metrics_token
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.get_secret_value()}" if token is not None else None
    return expected is not None and hmac.compare_digest(
        given.encode(errors="surrogatepass"), expected.encode()
    )


async def prometheus(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    if not _may_read_metrics(request):
        response = web.Response(status=401, text="metrics need a bearer token\n")
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    for queue in QUEUES:
        try:
            metrics.queue_depth.labels(queue).set(await hub.queue.depth(queue))
        except Exception:
            metrics.queue_depth.labels(queue).set(float("nan"))
    return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")


def routes() -> list[web.RouteDef]:
    """Called once per application: each keeps its own write probe."""
    writes = WriteProbe()

    async def health(request: web.Request) -> web.Response:
        return await healthz(request, writes)

    return [web.get("/healthz", health), web.get("/metrics", prometheus)]
