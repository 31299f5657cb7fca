"""A fake Shopify Admin REST API on loopback: the orders list and count `hub shopify
backfill` reads, as Shopify answers them.

What it speaks: `GET /admin/api/{version}/orders.json` and `.../orders/count.json`, the
`X-Shopify-Access-Token` header (401 with Shopify's error body otherwise), cursor pagination
(`limit`, then a `Link: <...page_info=...>; rel="next"` header whose URL must be followed
as is: a page_info request with other filters is a 400, as on Shopify), and an injected
429 with `Retry-After` (the leaky bucket overflowing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

ACCESS_TOKEN = "shpat_00000000000000000000000000000000"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. "
    "Reduce request rates to resume uninterrupted service."
)


@dataclass
class ShopifyCall:
    path: str
    query: dict[str, str]
    authorised: bool
    throttled: bool = False


@dataclass
class FakeShopifyAPI:
    orders: list[dict[str, Any]] = field(default_factory=list)
    throttle: int = 0  # answer this many requests 429 first
    page_cap: int = 250  # Shopify's largest page; tests lower it to see several pages
    calls: list[ShopifyCall] = field(default_factory=list)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/admin/api/{version}/orders.json", self._orders)
        app.router.add_get("/admin/api/{version}/orders/count.json", self._count)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _refusal(self, request: web.Request) -> web.Response | None:
        authorised = request.headers.get("X-Shopify-Access-Token") == ACCESS_TOKEN
        self.calls.append(ShopifyCall(request.path, dict(request.query), authorised))
        if not authorised:
            return web.json_response(
                {"errors": INVALID_TOKEN},
                status=401,
            )
        if self.throttle > 0:
            self.throttle -= 1
            self.calls[-1].throttled = True
            return web.json_response(
                {"errors": THROTTLED},
                status=429,
                headers={"Retry-After": "0.0"},
            )
        return None

    async def _count(self, request: web.Request) -> web.Response:
        return self._refusal(request) or web.json_response({"count": len(self.orders)})

    async def _orders(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        query = request.query
        limit = min(int(query.get("limit", "50")), self.page_cap)
        start = 0
        if "page_info" in query:
            if set(query) - {"page_info", "limit", "fields"}:
                return web.json_response(
                    {"errors": {"page_info": ["Only limit and fields are allowed with page_info"]}},
                    status=400,
                )
            start = int(query["page_info"].removeprefix("cursor"))
        page = self.orders[start : start + limit]
        links = []
        here = f"{self.base_url}/admin/api/{request.match_info['version']}/orders.json"
        if start > 0:
            links.append(
                f'<{here}?limit={limit}&page_info=cursor{max(0, start - limit)}>; rel="previous"'
            )
        if start + limit < len(self.orders):
            links.append(f'<{here}?limit={limit}&page_info=cursor{start + limit}>; rel="next"')
        headers = {"Link": ", ".join(links)} if links else {}
        return web.json_response({"orders": page}, headers=headers)
