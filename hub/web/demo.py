"""Pages `hub demo` serves: a small shop with the web chat widget on it."""

from __future__ import annotations

from aiohttp import web

from hub.web.keys import TEMPLATES


async def shop(request: web.Request) -> web.Response:
    template = request.app[TEMPLATES].get_template("demo/shop.html")
    # The demo shop is served by the hub itself, so the widget comes from this very origin.
    base = str(request.url.origin())
    html = template.render(
        widget_url=f"{base}/webchat/widget.js", open_chat=request.query.get("chat") == "1"
    )
    return web.Response(text=html, content_type="text/html")


async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/demo/shop")


def routes() -> list[web.RouteDef]:
    return [web.get("/demo/shop", shop), web.get("/", home)]
