"""Connection-level faults the fake providers share: a dropped socket, a cut-off answer.

A provider that accepted a request and then lost the connection mid-answer is the case the
hub cannot tell apart from a request that never arrived; the fakes need both.
"""

from __future__ import annotations

from aiohttp import web


def drop(request: web.Request) -> web.Response:
    """Abort the socket before answering; aiohttp then fails to write the answer quietly."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)


async def cut_off(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Send the status line, headers and half of `response`'s body, then abort the socket."""
    body = response.body if isinstance(response.body, bytes) else b""
    stream = web.StreamResponse(status=response.status)
    stream.content_type = response.content_type
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    if request.transport is not None:
        request.transport.abort()
    return stream
