"""A fake Twilio REST API (Messages) on loopback, plus a signed-callback helper.

The hub talks to Twilio through the twilio library pointed at `HUB_TWILIO_API_URL`, so tests
run the real client against this server. It speaks what the library sends: POST
`/2010-04-01/Accounts/{AccountSid}/Messages.json`, urlencoded form, HTTP Basic auth
(AccountSid:AuthToken); answers 201 with a Message resource, or Twilio-shaped errors
(`{"code","message","more_info","status"}`): 401 for wrong credentials, 400/21617 for a body
over 1600 characters, 400/21610 for an opted-out number, 63016 injected for WhatsApp
outside the window, and injected 429/5xx answers. Twilio's answers and checks are the
sandbox's (hub/sandbox/twilio_api.py); what is here is for tests only: recorded calls,
opted-out numbers, fault injection and media.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web
from twilio.request_validator import RequestValidator

from hub.sandbox.twilio_api import authorised, message_resource, refusal, twilio_error
from tests.fakes.connection_faults import cut_off, drop

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "fake-twilio-auth-token"


@dataclass
class TwilioCall:
    """One Messages create call: the form fields as sent, and what the fake answered."""

    fields: dict[str, str]
    status: int
    sid: str | None = None

    @property
    def to(self) -> str:
        return self.fields.get("To", "")

    @property
    def body(self) -> str | None:
        return self.fields.get("Body")


@dataclass
class _Fault:
    status: int  # 0 = drop the connection without answering
    code: int
    message: str
    hold: float = 0.0  # answer only after this long: the client times out first
    accept: bool = False  # the message is created first; then the answer is lost


class FakeTwilioAPI:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.calls: list[TwilioCall] = []
        self.unsubscribed: set[str] = set()
        self._faults: list[_Fault] = []
        self._sids = itertools.count(1)
        # Called with each accepted message before the create is answered: Twilio's own
        # status callbacks can reach the hub before the create's answer does.
        self.before_answer: Callable[[TwilioCall], Awaitable[None]] | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        # Inbound media: path -> (bytes, content type) or an HTTP status to fail with.
        self.media: dict[str, tuple[bytes, str] | int] = {}
        self.media_requests: list[tuple[str, bool]] = []  # (path, had the right credentials)
        self.storage_url = ""
        self.redirects: dict[str, str] = {}  # MediaUrl path -> where it redirects

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{sid}/Messages/{mm}/Media/{me}", self._media)
        app.router.add_get("/storage/{me}", self._storage)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        # Twilio redirects to its storage host. On loopback the hub fetches media only from
        # the exact origin HUB_TWILIO_API_URL names (SPEC §10), so the fake's storage is a
        # path there; the hub still sends credentials only with the first request.
        self.storage_url = self.base_url
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

    def fail_next(self, status: int, code: int = 20500, message: str = "injected") -> None:
        """The next create answers this error (429, 5xx, or a 4xx like 63016)."""
        self._faults.append(_Fault(status, code, message))

    def drop_next(self, *, after_accept: bool = False) -> None:
        """The next create loses its connection: before anything happens, or (`after_accept`)
        after the message was created, halfway through the answer."""
        self._faults.append(_Fault(0, 0, "dropped", accept=after_accept))

    def hold_next(self, seconds: float, *, accept: bool) -> None:
        """The next create is answered only after `seconds` (longer than the client's
        timeout): `accept` creates the message at once (the provider did accept it);
        otherwise a late 504 and nothing created."""
        self._faults.append(_Fault(504, 20504, "Gateway Timeout", hold=seconds, accept=accept))

    def add_media(self, content: bytes | int, content_type: str = "image/jpeg") -> str:
        """A MediaUrl as an inbound webhook carries it; an int makes the fetch fail with it."""
        n = len(self.media) + 1
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
        self.media[path] = content if isinstance(content, int) else (content, content_type)
        return self.base_url + path

    def add_redirect(self, location: str) -> str:
        """A MediaUrl of this account that Twilio answers with a redirect to `location`."""
        n = len(self.media) + 1
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
        self.redirects[path] = location
        self.media[path] = 404
        return self.base_url + path

    async def _media(self, request: web.Request) -> web.StreamResponse:
        """Like Twilio: credentials required, then a redirect to the file's storage host."""
        authorised = self._authorised(request)
        self.media_requests.append((request.path, authorised))
        if not authorised:
            return twilio_error(401, 20003, "Authenticate")
        if request.path in self.redirects:
            raise web.HTTPFound(self.redirects[request.path])
        found = self.media.get(request.path)
        if found is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        if isinstance(found, int):
            return twilio_error(found, 20500, "injected")
        raise web.HTTPFound(f"{self.storage_url}/storage/{request.match_info['me']}")

    async def _storage(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" in request.headers:  # the storage host must never see them
            return web.Response(status=400, text="credentials leaked to storage")
        for path, found in self.media.items():
            if path.endswith("/" + request.match_info["me"]) and not isinstance(found, int):
                return web.Response(body=found[0], content_type=found[1])
        return web.Response(status=404)

    @property
    def sent(self) -> list[TwilioCall]:
        return [c for c in self.calls if c.sid is not None]

    def _authorised(self, request: web.Request) -> bool:
        return authorised(request, self.account_sid, self.auth_token)

    async def _create(self, request: web.Request) -> web.Response:
        fields = {k: str(v) for k, v in (await request.post()).items()}
        call = TwilioCall(fields, 201)
        self.calls.append(call)
        fault = self._faults.pop(0) if self._faults and self._authorised(request) else None
        if fault is not None and not fault.accept:
            if fault.hold:
                await asyncio.sleep(fault.hold)
            call.status = fault.status
            if fault.status == 0:
                return drop(request)
            return twilio_error(fault.status, fault.code, fault.message)
        answer = self._answer(request, fields)
        if answer is not None:
            call.status = answer.status
            return answer
        call.sid = f"SM{next(self._sids):032x}"
        if self.before_answer is not None:
            await self.before_answer(call)
        response = web.json_response(
            message_resource(call.sid, self.account_sid, fields), status=201
        )
        if fault is not None:  # created, but the client never hears the answer in time
            if fault.hold:
                await asyncio.sleep(fault.hold)
                return response
            return await cut_off(request, response)
        return response

    def _answer(self, request: web.Request, fields: dict[str, str]) -> web.Response | None:
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        if (refused := refusal(fields)) is not None:
            return refused
        if fields["To"] in self.unsubscribed:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        return None


def sign(url: str, fields: dict[str, str], auth_token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature exactly as Twilio computes it for a form POST to `url`."""
    return str(RequestValidator(auth_token).compute_signature(url, fields))
