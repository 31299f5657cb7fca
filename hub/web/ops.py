"""Health and metrics: for load balancers and Prometheus, no auth."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from hub import metrics
from hub.queue.port import QUEUES
from hub.web.keys import HUB


async def _database_ping(request: web.Request) -> None:
    async with request.app[HUB].db.session() as session:
        await session.execute(text("SELECT 1"))


async def healthz(request: web.Request) -> web.Response:
    """200 only when both the database and the queue answer."""
    hub = request.app[HUB]
    checks: dict[str, str] = {}
    for name, probe in (("database", _database_ping(request)), ("queue", hub.queue.ping())):
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


async def prometheus(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    for queue in QUEUES:
        try:
            metrics.queue_depth.labels(queue).set(await hub.queue.depth(queue))
        except Exception:
            metrics.queue_depth.labels(queue).set(float("nan"))
    return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/metrics", prometheus)]
