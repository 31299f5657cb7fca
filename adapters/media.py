"""Fetching customers' files from the providers (hub.domain.media.MediaSource).

Plain aiohttp, streamed and capped at the size limit: a file over it is never read whole.
Only the provider's own media origins are fetched from, on public addresses, and no
redirect leaves them (adapters.media_origins). Errors never carry a URL: Telegram's file
URLs contain the bot token.
"""

from __future__ import annotations

import base64
from urllib.parse import urljoin, urlsplit

import aiohttp

from adapters.media_origins import MediaOrigins, Origin, guarded_session, refused
from hub.domain.media import FetchedFile, FileTooLarge
from hub.errors import ProviderError

TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=10)
CHUNK = 64 * 1024
MAX_REDIRECTS = 5


# Where Twilio keeps the bytes a MediaUrl redirects to: its CDN, or (older accounts) a
# signed S3 URL under the media.twiliocdn.com bucket.
TWILIO_MEDIA_SUFFIXES = (".twiliocdn.com",)
TWILIO_MEDIA_HOSTS = frozenset({"s3-external-1.amazonaws.com", "s3.amazonaws.com"})


class _Http:
    def __init__(self, origins: MediaOrigins) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.origins = origins

    def session(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop that will own it.
        if self._session is None:
            self._session = guarded_session(self.origins, TIMEOUT)
        return self._session

    def check(self, url: str, what: str) -> None:
        if not self.origins.allows(url):
            raise ProviderError(f"{what} is not at the provider's media origins", retryable=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _client_error(who: str, exc: aiohttp.ClientError) -> ProviderError:
    if refused(exc):  # not a network fault: trying again would be refused again
        return ProviderError(f"{who} resolves to a non-public address", retryable=False)
    return ProviderError(f"{who} unreachable ({type(exc).__name__})", retryable=True)


def _status_error(who: str, status: int) -> ProviderError:
    return ProviderError(f"{who} answered HTTP {status}", retryable=status == 429 or status >= 500)


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise FileTooLarge(declared)
    data = bytearray()
    async for chunk in response.content.iter_chunked(CHUNK):
        data += chunk
        if len(data) > limit:
            raise FileTooLarge(declared)
    return bytes(data)


class TelegramMedia(_Http):
    """getFile, then the file download route (`/file/bot<token>/<file_path>`)."""

    def __init__(self, token: str, api_url: str) -> None:
        super().__init__(MediaOrigins.for_api(api_url))
        self._token = token
        self._api = api_url.rstrip("/")

    async def fetch(self, ref: str, limit: int) -> FetchedFile:
        try:
            async with self.session().post(
                f"{self._api}/bot{self._token}/getFile", data={"file_id": ref}
            ) as answer:
                body = await answer.json(content_type=None)
                status = answer.status
            if not isinstance(body, dict) or not body.get("ok"):
                description = str(body.get("description", "")) if isinstance(body, dict) else ""
                if "too big" in description.lower():
                    raise FileTooLarge(None)  # Bot API: bots cannot download over 20 MB
                raise ProviderError(
                    f"Telegram getFile failed: {description or status}",
                    retryable=status == 429 or status >= 500,
                )
            result = body["result"]
            size = result.get("file_size")
            if isinstance(size, int) and size > limit:
                raise FileTooLarge(size)
            path = result.get("file_path")
            if not isinstance(path, str) or not path:
                raise ProviderError("Telegram gave no file path", retryable=False)
            url = f"{self._api}/file/bot{self._token}/{path}"
            self.check(url, "the Telegram file URL")
            async with self.session().get(url, allow_redirects=False) as answer:
                if answer.status != 200:
                    raise _status_error("the Telegram file download", answer.status)
                data = await _read_capped(answer, limit)
        except aiohttp.ClientError as exc:
            raise _client_error("Telegram", exc) from None
        return FetchedFile(data, None, path.rsplit("/", 1)[-1])


class TwilioMedia(_Http):
    """A media URL from the webhook, read with the account's credentials.

    The URL must be at the Twilio API's origin (`HUB_TWILIO_API_URL`) under this account;
    Twilio answers with a redirect to its file storage, followed by hand and only to
    Twilio's media hosts. The credentials go only with the first request, to the API's
    own origin, never to the storage host.
    """

    def __init__(self, account_sid: str, auth_token: str, api_url: str) -> None:
        super().__init__(
            MediaOrigins.for_api(
                api_url, https_hosts=TWILIO_MEDIA_HOSTS, https_suffixes=TWILIO_MEDIA_SUFFIXES
            )
        )
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode("ascii")
        self._auth = f"Basic {token}"
        # Under the API URL's own path (the sandbox serves its fake Twilio below a prefix).
        self._media_path = (
            f"{urlsplit(api_url).path.rstrip('/')}/2010-04-01/Accounts/{account_sid}/"
        )

    async def fetch(self, ref: str, limit: int) -> FetchedFile:
        if Origin.of(ref) != self.origins.api or not urlsplit(ref).path.startswith(
            self._media_path
        ):
            raise ProviderError("the media URL is not this account's on Twilio", retryable=False)
        url = ref
        try:
            for hop in range(MAX_REDIRECTS + 1):
                self.check(url, "the media URL")
                headers = {"Authorization": self._auth} if hop == 0 else {}
                async with self.session().get(
                    url, headers=headers, allow_redirects=False
                ) as answer:
                    if answer.status in (301, 302, 303, 307, 308):
                        url = urljoin(url, answer.headers.get("Location", ""))
                        continue
                    if answer.status != 200:
                        raise _status_error("Twilio media", answer.status)
                    data = await _read_capped(answer, limit)
                    return FetchedFile(data, answer.headers.get("Content-Type"), None)
        except aiohttp.ClientError as exc:
            raise _client_error("Twilio media", exc) from None
        raise ProviderError("too many redirects for the media URL", retryable=False)
