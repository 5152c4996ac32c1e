"""WhatsApp/MMS photos at Twilio: fetched once, then deleted there.

Twilio keeps a member's photo until its Media resource is deleted. A message's `MediaUrl0`
(`…/2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…`) answers, with the account's basic auth,
a redirect to the file on Twilio's CDN; the bytes are read with aiohttp (the twilio SDK's HTTP
clients give text, not bytes), following the redirect (aiohttp drops the credentials when it
leaves the API's host). The credentials only ever go to the configured Twilio API: the sids
are read from the URL and the address rebuilt on `api_url`, whatever host the URL names.
Deleting is the SDK's `messages(sid).media(sid).delete_async()`; a 404 means already gone.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from gateway.channels.base import redact

MAX_BYTES = 10_000_000  # Twilio takes at most 5 MB of media per message; twice that is not a photo
_MEDIA_URL = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Messages/(?P<message>(?:MM|SM)[0-9a-fA-F]{32})"
    r"/Media/(?P<media>ME[0-9a-fA-F]{32})(?:\.json)?$"
)


class MediaRefused(ValueError):
    """Fetching it again would give the same answer (gone, not ours, not an image, too large)."""


@dataclass(frozen=True)
class MediaSids:
    account: str
    message: str
    media: str


def media_sids(ref: str) -> MediaSids | None:
    """The sids a MediaUrl names; None if it is not a Twilio media URL."""
    found = _MEDIA_URL.search(ref.split("?", 1)[0])
    return MediaSids(found["account"], found["message"], found["media"]) if found else None


class TwilioMedia:
    """Fetch and delete the media of one Twilio account (start() inside the running loop)."""

    def __init__(self, account_sid: str, auth_token: str, api_url: str, timeout: float = 30):
        self._account, self._token = account_sid, auth_token
        self._api_url = api_url.rstrip("/")
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        self._http = AsyncTwilioHttpClient(timeout=self._timeout)
        self._client = Client(self._account, self._token, http_client=self._http)
        self._client.api.base_url = self._api_url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._http is not None:
            await self._http.close()

    def _sids(self, ref: str) -> MediaSids:
        sids = media_sids(ref)
        if sids is None:
            raise MediaRefused("not a Twilio media URL")
        if sids.account != self._account:
            raise MediaRefused("media of another Twilio account")
        return sids

    async def download(self, ref: str, target: Path) -> None:
        """Write the media at `ref` to `target`. Raises MediaRefused when
        trying again would not help, anything else (network, 5xx, 401, 429) when it might."""
        assert self._session is not None, "start() first"
        sids = self._sids(ref)
        url = (f"{self._api_url}/2010-04-01/Accounts/{sids.account}/Messages/{sids.message}"
               f"/Media/{sids.media}")  # fmt: skip
        # Dropped by aiohttp when the redirect leaves the API's origin (the CDN wants none).
        headers = {"Authorization": aiohttp.encode_basic_auth(self._account, self._token)}
        async with self._session.get(url, headers=headers) as response:
            if response.status == 404:
                raise MediaRefused("the photo is no longer at Twilio (404)")
            if response.status >= 400:
                raise RuntimeError(f"Twilio answered {response.status} for the photo")
            kind = response.content_type or ""
            if not kind.startswith("image/"):
                raise MediaRefused(f"not an image ({kind or 'no content type'})")
            if (response.content_length or 0) > MAX_BYTES:
                raise MediaRefused(f"too large ({response.content_length} bytes)")
            size = 0
            with await asyncio.to_thread(target.open, "wb") as out:
                async for chunk in response.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        out.close()
                        await asyncio.to_thread(target.unlink, True)
                        raise MediaRefused(f"too large (over {MAX_BYTES} bytes)")
                    await asyncio.to_thread(out.write, chunk)

    async def delete(self, ref: str) -> None:
        """Delete the media at Twilio; done too if Twilio no longer has it (404)."""
        assert self._client is not None, "start() first"
        sids = self._sids(ref)
        media = (
            self._client.api.v2010.accounts(sids.account).messages(sids.message).media(sids.media)
        )
        try:
            await media.delete_async()
        except TwilioRestException as error:
            if error.status == 404:
                return
            raise RuntimeError(
                f"Twilio refused to delete the photo ({error.status} {error.code}: "
                f"{redact(str(error.msg), (self._token,))})"
            ) from None
