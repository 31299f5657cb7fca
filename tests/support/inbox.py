"""Reading the inbox and the API's lists as an operator sees them, and the markup an
attacker would like to see run there."""

from __future__ import annotations

import re
from typing import Any

from tests.support.api import Api


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="row[^"]*" data-conversation-id="(\d+)"', html)]


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


async def walk_pages(api: Api, path: str, limit: int) -> list[list[dict[str, Any]]]:
    """Every page of a list, following next_cursor to the end."""
    pages, cursor = [], None
    sep = "&" if "?" in path else "?"
    while True:
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = await api.get(url)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
