"""Turn hub errors into JSON errors; never show a stack trace to a client."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from hub.errors import HubError, TooManyRequests

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TooManyRequests as exc:
        response = error_body(exc.status, exc.code, exc.message)
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    except HubError as exc:
        return error_body(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(("/api/", "/webhooks/")):
            raise
        return error_body(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except ConnectionResetError:
        # The client went away mid-request: nobody reads an answer, and it is not our fault.
        log.info("client left during %s %s", request.method, request.path)
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body(500, "internal", "internal error")
