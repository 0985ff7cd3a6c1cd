"""The host's queue requests as plain REST calls, signed here with the account's shared key.

The Storage queue SDK sends each request through some fifteen policies and reads each answer
through its generated XML models. That cost about 0.8 ms of CPU per request, and the host
makes three per queue step: a receive, a delete, and a put for each next step. On Azure the
Functions host does this work outside the Python worker, so in this process it only inflated
what a send costs. A request here is built and signed directly and goes through the SDK's own
aiohttp transport, so connection pooling (and the benchmark's request counter) stay the same.

Only connection strings are emulated: an account key (Azurite's, or a real account's) signs
with Shared Key; a SAS token rides in the query instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import (
    AioHttpTransport,
    AioHttpTransportResponse,
    AsyncHttpResponse,
    HttpRequest,
)
from azure.storage.queue.aio import QueueServiceClient

# Azurite 3.35 (the newest that runs on Node 20) rejects the SDK's newer default API version.
QUEUE_API_VERSION = "2025-11-05"
_RETRY_DELAYS = (0.2, 0.8, 3.2)  # seconds before each of three retries (the SDK also makes three)
_TIMEOUT = 30  # seconds a request may take
_ERRORS: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    403: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
}
_REQUEST_IDS = itertools.count()


@dataclass
class ReceivedMessage:
    """A message as a receive answered it; ``pop_receipt`` changes with each update."""

    id: str
    pop_receipt: str
    dequeue_count: int
    content: str
    inserted_on: datetime | None
    expires_on: datetime | None
    next_visible_on: datetime | None


def _time(text: str | None) -> datetime | None:
    return None if not text else parsedate_to_datetime(text)


class QueueAccount:
    """One storage account's queue endpoint, and how its requests are signed."""

    def __init__(self, connection_string: str, **transport_options: bool) -> None:
        # The SDK reads the connection string (its many forms) into an endpoint and a key.
        parsed = QueueServiceClient.from_connection_string(connection_string)
        url = urlsplit(parsed.url)  # a SAS connection string's token is its query
        self.url = f"{url.scheme}://{url.netloc}{url.path}".rstrip("/")
        credential = parsed.credential
        self._account = getattr(credential, "account_name", None)
        key = getattr(credential, "account_key", None)
        self._key = None if key is None else base64.b64decode(key)
        self._sas = dict(parse_qsl(url.query, keep_blank_values=True))
        self._path = urlsplit(self.url).path  # "/devstoreaccount1" on Azurite, "" on Azure
        self._transport = AioHttpTransport(**transport_options)

    def queue(self, name: str) -> Queue:
        return Queue(self, name)

    async def close(self) -> None:
        await self._transport.close()

    def _sign(
        self, method: str, path: str, params: Mapping[str, str], headers: dict[str, str]
    ) -> None:
        """Shared Key (the Storage services' authorization scheme): an HMAC of the request."""
        length = headers.get("Content-Length", "")
        canonical_headers = "".join(
            f"{name}:{headers[name]}\n" for name in sorted(headers) if name.startswith("x-ms-")
        )
        resource = f"/{self._account}{path}" + "".join(
            f"\n{name.lower()}:{params[name]}" for name in sorted(params, key=str.lower)
        )
        text = "\n".join(
            [method, "", "", "" if length == "0" else length, "", headers.get("Content-Type", "")]
            + [""] * 6
        )
        signed = f"{text}\n{canonical_headers}{resource}".encode()
        digest = hmac.new(self._key or b"", signed, hashlib.sha256).digest()
        headers["Authorization"] = f"SharedKey {self._account}:{base64.b64encode(digest).decode()}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes = b"",
        ok: tuple[int, ...],
    ) -> AsyncHttpResponse:
        """Send the request, retrying transport failures and 5xx answers; the answer, whose
        status is one of ``ok``, or the SDK's exception for it."""
        query = dict(params or {})
        for delay in (*_RETRY_DELAYS, None):
            headers = {
                "x-ms-date": format_datetime(datetime.now(UTC), usegmt=True),
                "x-ms-version": QUEUE_API_VERSION,
                "x-ms-client-request-id": f"herald-host-{next(_REQUEST_IDS)}",
                "Content-Length": str(len(body)),
            }
            if body:
                headers["Content-Type"] = "application/xml"
            if self._key is not None:
                self._sign(method, f"{self._path}{path}", query, headers)
            url = f"{self.url}{path}"
            if query or self._sas:
                url += "?" + urlencode({**query, **self._sas}, quote_via=quote)
            request = HttpRequest(method, url, headers=headers)
            if body:
                request.set_bytes_body(body)
            try:
                response = await self._transport.send(request, read_timeout=_TIMEOUT)
                assert isinstance(response, AioHttpTransportResponse)
                await response.load_body()
            except (ServiceRequestError, ServiceResponseError):
                if delay is None:
                    raise
            else:
                if response.status_code in ok:
                    return cast(AsyncHttpResponse, response)
                if response.status_code < 500 or delay is None:
                    raise _ERRORS.get(response.status_code, HttpResponseError)(response=response)
            await asyncio.sleep(delay)
        raise AssertionError("the last attempt answers or raises")


class Queue:
    """One queue of an account: the five operations a queue trigger and its outputs need."""

    def __init__(self, account: QueueAccount, name: str) -> None:
        self.name = name
        self._account = account
        self._path = f"/{name}"

    async def create(self) -> None:
        """Create the queue; one that exists already is fine."""
        await self._account.request("PUT", self._path, ok=(201, 204, 409))

    async def send(self, text: str) -> None:
        body = f"<QueueMessage><MessageText>{escape(text)}</MessageText></QueueMessage>"
        await self._account.request("POST", f"{self._path}/messages", body=body.encode(), ok=(201,))

    async def receive(self, count: int, visibility_timeout: int) -> list[ReceivedMessage]:
        params = {"numofmessages": str(count), "visibilitytimeout": str(visibility_timeout)}
        response = await self._account.request(
            "GET", f"{self._path}/messages", params=params, ok=(200,)
        )
        return [
            ReceivedMessage(
                id=item.findtext("MessageId", ""),
                pop_receipt=item.findtext("PopReceipt", ""),
                dequeue_count=int(item.findtext("DequeueCount", "0")),
                content=item.findtext("MessageText", ""),
                inserted_on=_time(item.findtext("InsertionTime")),
                expires_on=_time(item.findtext("ExpirationTime")),
                next_visible_on=_time(item.findtext("TimeNextVisible")),
            )
            for item in ElementTree.fromstring(response.body()).iter("QueueMessage")
        ]

    async def update(self, message: ReceivedMessage, visibility_timeout: int) -> None:
        """Hide ``message`` for ``visibility_timeout`` more seconds (0: show it now); its pop
        receipt changes to the one the service answers."""
        params = {"popreceipt": message.pop_receipt, "visibilitytimeout": str(visibility_timeout)}
        response = await self._account.request(
            "PUT", f"{self._path}/messages/{message.id}", params=params, ok=(204,)
        )
        message.pop_receipt = response.headers["x-ms-popreceipt"]
        message.next_visible_on = _time(response.headers.get("x-ms-time-next-visible"))

    async def delete(self, message: ReceivedMessage) -> None:
        """ResourceNotFoundError when the message is gone (or its receipt is stale)."""
        params = {"popreceipt": message.pop_receipt}
        await self._account.request(
            "DELETE", f"{self._path}/messages/{message.id}", params=params, ok=(204,)
        )
