"""Shopify's Admin REST API, read side only: the recent orders `hub shopify backfill` pulls.

Pages follow the `Link: <...page_info=...>; rel="next"` header (cursor pagination: the next
URL carries everything, the first request's filters must not be repeated). A 429 waits for
its `Retry-After` (Shopify's leaky bucket refills in about a second) and tries again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from adapters.shopify import parse_order
from hub.domain.feeds import FeedOrder
from hub.domain.json_input import JsonRefused, decode_json
from hub.errors import InvalidInput, ProviderError

PAGE_SIZE = 250  # the most Shopify gives per page
MAX_THROTTLED = 10
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def next_page(link: str | None) -> str | None:
    """The `rel="next"` URL of a Link header, if any."""
    for part in (link or "").split(","):
        found = _NEXT.search(part)
        if found:
            return found.group(1)
    return None


class ShopifyOrders:
    """The shop's orders updated in the last N days (hub.domain.ports.OrderHistory)."""

    def __init__(
        self, shop: str, token: str, api_url: str | None, *, version: str, timeout: float
    ) -> None:
        domain = shop if "." in shop else f"{shop}.myshopify.com"
        self.base = (api_url or f"https://{domain}").rstrip("/") + f"/admin/api/{version}"
        self._origin = urlsplit(self.base)[:2]
        self._session = aiohttp.ClientSession(
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        )

    async def _get(self, url: str) -> tuple[Any, str | None]:
        if urlsplit(url)[:2] != self._origin:  # the token goes to the shop's API only
            raise ProviderError(
                f"Shopify pointed the next page off the shop: {url}", retryable=False
            )
        for _ in range(MAX_THROTTLED):
            async with self._session.get(url) as response:
                body = await response.read()
                if response.status == 429:
                    await asyncio.sleep(float(response.headers.get("Retry-After") or 1.0))
                    continue
                if response.status != 200:
                    detail = body[:200].decode("utf-8", "replace")
                    raise ProviderError(
                        f"Shopify answered {response.status}: {detail}", retryable=False
                    )
                try:
                    return decode_json(body), response.headers.get("Link")
                except JsonRefused as exc:
                    raise ProviderError(
                        f"Shopify answered something not JSON: {exc}", retryable=False
                    ) from None
        raise ProviderError("Shopify kept answering 429 Too Many Requests", retryable=True)

    async def count(self, days: int) -> int | None:
        since = datetime.now(UTC) - timedelta(days=days)
        query = urlencode({"status": "any", "updated_at_min": since.isoformat()})
        data, _ = await self._get(f"{self.base}/orders/count.json?{query}")
        found = data.get("count") if isinstance(data, dict) else None
        return found if isinstance(found, int) else None

    async def pages(self, days: int) -> AsyncIterator[tuple[list[FeedOrder], int]]:
        since = datetime.now(UTC) - timedelta(days=days)
        query = urlencode(
            {"status": "any", "limit": PAGE_SIZE, "updated_at_min": since.isoformat()}
        )
        url: str | None = f"{self.base}/orders.json?{query}"
        while url is not None:
            data, link = await self._get(url)
            raw = data.get("orders") if isinstance(data, dict) else None
            if not isinstance(raw, list):
                raise ProviderError("Shopify's orders page has no `orders` list", retryable=False)
            orders: list[FeedOrder] = []
            for entry in raw:
                if not isinstance(entry, dict):
                    continue
                try:
                    order = parse_order(entry)
                except InvalidInput:
                    continue  # an order without id or number: nothing to keep
                if order is not None:
                    orders.append(order)
            yield orders, len(raw)
            url = next_page(link)

    async def close(self) -> None:
        await self._session.close()
