"""Who is calling: bearer tokens (looked up hashed), and the login rate limiter."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from hub.actions.operators import operator_for_token
from hub.errors import TooManyRequests, Unauthorized
from hub.models import Operator
from hub.services import Hub
from hub.web import sessions

MAX_TOKEN_CHARS = 200


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    return token


async def authenticate(request: web.Request, hub: Hub) -> Operator:
    """The operator the bearer token belongs to, else the inbox session's operator (unsafe
    methods then need the session's CSRF token in `X-CSRF-Token`); 401 for neither."""
    token = bearer_token(request)
    if token is None and "Authorization" not in request.headers:
        me = await sessions.current(request)
        if me is not None:
            sessions.check_csrf(request, me)
            return me.operator
    if token is None:
        raise Unauthorized("send an API token as `Authorization: Bearer TOKEN`")
    async with hub.db.session() as session:
        operator = await operator_for_token(session, token)
    if operator is None:
        raise Unauthorized("the API token is not valid")
    return operator


@dataclass
class LoginLimiter:
    """Failed logins per email and per client address in a sliding window.

    In memory, per process: with N web processes an attacker gets N times the budget,
    still far too little to guess a password; a shared store can replace it later.
    """

    max_failures: int = 10
    window: float = 300.0
    max_keys: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _now(self) -> float:
        return time.monotonic()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def check(self, keys: list[str]) -> None:
        """Refuse (429) while any key has used up its failures in the window."""
        now = self._now()
        waits = [
            stamps[0] + self.window - now
            for stamps in (self._recent(k, now) for k in keys)
            if len(stamps) >= self.max_failures
        ]
        if waits:
            raise TooManyRequests("too many failed logins, try again later", retry_after=max(waits))

    def failed(self, keys: list[str]) -> None:
        now = self._now()
        if len(self._failures) >= self.max_keys:
            self._prune(now)
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, deque(maxlen=self.max_failures)).append(now)

    def succeeded(self, email_key: str) -> None:
        """A right password clears its email's count (not the address's: one valid account
        must not reset an address that is guessing other accounts' passwords)."""
        self._failures.pop(email_key, None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= self.max_keys:  # still full: forget the oldest keys
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[
                : self.max_keys // 10
            ]:
                del self._failures[key]
