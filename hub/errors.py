"""Errors as types; one middleware turns them into JSON errors.

HubError
├── NotFound            404  an id that names nothing
├── AccessDenied        403  authenticated, but not allowed
├── Unauthorized        401  no or bad credentials
├── BadRequest          400  a body that is not what the provider sends at all
├── InvalidInput        422  a body or query that fails validation
├── Conflict            409  the request clashes with the current state
├── TooManyRequests     429  rate limited (carries retry_after)
├── WindowClosed        409  a channel's reply window is closed (WhatsApp 24 h)
├── ConfigurationError       a misconfigured setting, raised at start
└── ProviderError            a provider refused or failed a send (retryable or not)
"""

from __future__ import annotations


class HubError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(HubError):
    status = 404
    code = "not_found"


class AccessDenied(HubError):
    status = 403
    code = "forbidden"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class InvalidInput(HubError):
    status = 422
    code = "invalid_input"


class BadRequest(HubError):
    """A body that is not what the sender should send at all (not JSON, not an object)."""

    status = 400
    code = "bad_request"


class Conflict(HubError):
    status = 409
    code = "conflict"


class TooManyRequests(HubError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WindowClosed(HubError):
    status = 409
    code = "window_closed"


class QueueUnavailable(HubError):
    """The queue cannot take the event: answer 503 so the provider retries later."""

    status = 503
    code = "queue_unavailable"


class ConfigurationError(HubError):
    code = "configuration"


class ProviderError(HubError):
    """A send the provider refused; `retryable` errors go back on the queue with backoff.

    `progress` is the adapter's own note of what the provider already accepted (the first
    parts of a split reply): opaque to the core, handed back as OutboundMessage.progress on
    the retry so those parts are not sent twice.
    """

    status = 502
    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        progress: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.progress = progress
