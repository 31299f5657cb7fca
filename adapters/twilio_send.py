"""Twilio, outbound half: SMS and WhatsApp through the twilio library's Messages API.

The library is sync by default; it also takes an async HTTP client. Its own
AsyncTwilioHttpClient passes `auth=` and a bare float timeout to aiohttp, both deprecated
in aiohttp 3.14 (warnings are errors in the tests), so this module brings a small one that
also moves every request onto `HUB_TWILIO_API_URL` (a local fake in tests).
"""

from __future__ import annotations

import base64
import json
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from adapters.text_split import SendPart, send_parts, split_text
from adapters.twilio import STATUS_MESSAGE_PARAM
from hub.domain.messages import DeliveryReceipt, OutboundMessage
from hub.domain.types import Channel
from hub.errors import ProviderError

# Twilio refuses a body over 1600 characters (error 21617): longer replies go out as
# several messages, in order, cut at paragraph/line/word breaks (adapters.text_split).
TEXT_LIMIT = 1600
REQUEST_TIMEOUT = 30.0
_KNOWN_ERRORS = {
    21610: "the recipient has opted out of SMS (texted STOP)",
    63016: "outside the WhatsApp 24 h window: use a template or another channel",
}


class HubTwilioHttpClient(AsyncHttpClient):
    """aiohttp under the twilio client, with every request sent to one base URL."""

    def __init__(self, base_url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        super().__init__(logger=None, is_async=True, timeout=timeout)
        self._base = urlsplit(base_url)
        self._session: aiohttp.ClientSession | None = None

    def _rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        prefix = self._base.path.rstrip("/")
        return urlunsplit(
            (self._base.scheme, self._base.netloc, prefix + parts.path, parts.query, "")
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        sent_headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            sent_headers["Authorization"] = f"Basic {token}"
        async with self._session.request(
            method.upper(),
            self._rewrite(url),
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=sent_headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            return Response(answer.status, await answer.text(), answer.headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _provider_error(exc: TwilioRestException) -> ProviderError:
    status = int(exc.status or 0)
    known = _KNOWN_ERRORS.get(int(exc.code or 0))
    detail = (
        f"Twilio error {exc.code}: {exc.msg}" if exc.code else f"Twilio HTTP {status}: {exc.msg}"
    )
    message = f"{known} ({detail})" if known else detail
    return ProviderError(message, retryable=status == 429 or status >= 500)


class TwilioSender:
    """One Twilio channel (SMS or WhatsApp) sending from its configured number."""

    max_text_length = TEXT_LIMIT

    def __init__(
        self,
        channel: Channel,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        api_url: str,
        status_callback: str,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.channel = channel
        self._timeout = timeout
        self._sid, self._token = account_sid, auth_token
        self._from = sender
        self._api_url = api_url
        self._status_callback = status_callback
        self._http: HubTwilioHttpClient | None = None
        self._client: Client | None = None

    def _twilio(self) -> Client:
        # Built on first send, inside the running loop that owns its aiohttp session.
        if self._client is None:
            self._http = HubTwilioHttpClient(self._api_url, self._timeout)
            self._client = Client(self._sid, self._token, http_client=self._http)
        return self._client

    def _to(self, address: str) -> str:
        return f"whatsapp:{address}" if self.channel is Channel.WHATSAPP else address

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        if message.content_sid:
            # A Content template: no Body; the reply text is the template's variable 1.
            sid = await self._create(
                message,
                content_sid=message.content_sid,
                content_variables=json.dumps({"1": message.text}),
            )
            return DeliveryReceipt(external_id=sid)
        # Twilio fetches media itself, from the hub's signed links, with the first part.
        # A retry resumes after the parts Twilio already accepted (send_parts).
        media = [a.url for a in message.attachments]
        parts: list[SendPart] = []
        for n, text in enumerate(split_text(message.text, self.max_text_length)):
            extra: dict[str, Any] = {"media_url": media} if media and n == 0 else {}
            parts.append(partial(self._create, message, body=text, **extra))
        return DeliveryReceipt(external_id=await send_parts(parts, message.progress))

    async def _create(self, message: OutboundMessage, **fields: Any) -> str:
        # The callback names the hub's message: Twilio may call it before the hub has
        # stored the MessageSid this request returns.
        try:
            created = await self._twilio().messages.create_async(
                to=self._to(message.address),
                from_=self._from,
                status_callback=f"{self._status_callback}?{STATUS_MESSAGE_PARAM}={message.message_id}",
                **fields,
            )
        except TwilioRestException as exc:
            raise _provider_error(exc) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProviderError(f"Twilio unreachable: {exc!r}", retryable=True) from None
        return str(created.sid)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
