"""aiohttp plumbing for the HTTP/1.1 PNS paths and every OAuth token endpoint.

This is the one place aiohttp errors are translated: into :class:`TransportError` for sends, and
into :class:`TokenError` (with the outcome every message of the batch gets) for token calls.
Answers come back as :class:`HttpResponse`, read fully, so nothing else sees aiohttp.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDictProxy

from shared.pns import _classify as cls
from shared.pns._classify import TransportError
from shared.pns.base import Outcome, OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

_T = TypeVar("_T")
# Sends a batch with the given access token; one outcome per message, in order.
SendWith = Callable[[str, Sequence[PushMessage]], Awaitable[list[Outcome]]]
# Refresh a cached access token this long before it expires (at most a tenth of its lifetime).
_REFRESH_MARGIN = 300.0
_KEEPALIVE = 60.0  # seconds an idle connection stays open for the next delivery
_FORM = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class HttpResponse:
    """One PNS answer, body read in full."""

    status: int
    reason: str  # the status line's reason phrase
    headers: CIMultiDictProxy[str]  # case-insensitive names; get() answers the first value
    body: bytes


def make_session(options: PnsOptions) -> aiohttp.ClientSession:
    """A session that never follows redirects (``post`` says so on every request), ignores proxy
    variables (SSRF), keeps no cookies (devices must not share state) and reuses connections.
    Build it inside the running loop."""
    connector = aiohttp.TCPConnector(
        limit=options.http1_connections, ssl=options.ssl_context(), keepalive_timeout=_KEEPALIVE
    )
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(
            total=options.request_timeout, sock_connect=options.connect_timeout
        ),
    )


async def post(
    session: aiohttp.ClientSession, url: str, *, headers: Mapping[str, str], content: bytes
) -> HttpResponse:
    """POST ``content``; the answer, body read in full. A redirect is answered, not followed."""
    try:
        async with session.post(
            url, headers=headers, data=content, allow_redirects=False
        ) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransportError(_describe(exc, session.timeout.total)) from exc
    return HttpResponse(response.status, response.reason or "", response.headers, body)


def _describe(exc: BaseException, timeout: float | None) -> str:
    """The exception's type and text; a bare timeout says how long it waited."""
    text = str(exc)
    if not text and isinstance(exc, TimeoutError):
        text = f"no answer within {timeout:g} s" if timeout else "no answer in time"
    return f"{type(exc).__name__}: {text}"


async def gather_limited(
    limit: asyncio.Semaphore, items: Sequence[_T], send: Callable[[_T], Awaitable[Outcome]]
) -> list[Outcome]:
    """``send`` every item concurrently, at most ``limit`` at once; outcomes in order."""

    async def one(item: _T) -> Outcome:
        async with limit:
            return await send(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


class TokenError(Exception):
    """The token endpoint refused or failed; ``kind`` is what each message of the batch gets."""

    def __init__(self, reason: str, kind: OutcomeKind, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.status = status

    def outcomes(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        return [Outcome(self.kind, m.handle, self.status, self.reason) for m in messages]


async def fetch_token(
    session: aiohttp.ClientSession, url: str, form: Mapping[str, str]
) -> tuple[str, float]:
    """POST an OAuth2 token request; answer (access token, lifetime in seconds)."""
    content = urlencode(form).encode()
    try:
        response = await post(session, url, headers=_FORM, content=content)
    except TransportError as exc:
        raise TokenError(f"token endpoint: {exc}", OutcomeKind.TRANSIENT) from exc
    status = response.status
    if status == 429 or status >= 500:
        raise TokenError(f"token endpoint: HTTP {status}", OutcomeKind.TRANSIENT, status)
    try:
        body = json.loads(response.body)
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    token, lifetime = body.get("access_token"), body.get("expires_in", 3600)
    if status != 200 or not isinstance(token, str):
        error = f"{body.get('error', '')} {body.get('error_description', '')}".strip()
        kind = OutcomeKind.CREDENTIALS_REJECTED
        raise TokenError(f"token endpoint: HTTP {status} {error}".rstrip(), kind, status)
    try:
        return token, float(lifetime)
    except (TypeError, ValueError):
        return token, 3600.0


class TokenCache:
    """One OAuth access token, fetched on first use and again shortly before it expires.

    Concurrent callers share one fetch. ``invalidate`` drops a token the PNS refused.
    """

    def __init__(
        self, fetch: Callable[[], Awaitable[tuple[str, float]]], clock: Callable[[], float]
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    async def get(self) -> str:
        token = self._token
        if token is not None and self._clock() < self._refresh_at:
            return token
        async with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                value, lifetime = await self._fetch()
                margin = min(_REFRESH_MARGIN, lifetime / 10)
                self._token, self._refresh_at = value, self._clock() + lifetime - margin
            return self._token

    def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def send_with_refresh(
        self,
        messages: Sequence[PushMessage],
        send_with: SendWith,
        *,
        refused: Callable[[Outcome], bool],
    ) -> list[Outcome]:
        """``send_with`` the cached token; resend what the PNS ``refused`` it for once, with a
        fresh token. Outcomes in message order; messages a token could not be fetched for get
        that :class:`TokenError`'s outcome, the others keep their own."""
        try:
            token = await self.get()
        except TokenError as exc:
            return exc.outcomes(messages)
        outcomes = await send_with(token, messages)
        again = [i for i, outcome in enumerate(outcomes) if refused(outcome)]
        if not again:
            return outcomes
        # Revoked or expired early: resending now spares these messages a trip through the queue.
        self.invalidate(token)
        resend = [messages[i] for i in again]
        try:
            fresh = await self.get()
        except TokenError as exc:
            retried = exc.outcomes(resend)
        else:
            retried = await send_with(fresh, resend)
        for index, outcome in zip(again, retried, strict=True):
            outcomes[index] = outcome
        return outcomes


class HttpSender:
    """What the HTTP/1.1 senders share: one lazily built session and the in-flight cap."""

    def __init__(self, options: PnsOptions) -> None:
        self._options = options
        self._limit = asyncio.Semaphore(options.http1_connections)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = make_session(self._options)
        return self._session

    async def each(
        self, messages: Sequence[PushMessage], send: Callable[[PushMessage], Awaitable[Outcome]]
    ) -> list[Outcome]:
        async def one(message: PushMessage) -> Outcome:
            try:
                return await send(message)
            except Exception as exc:  # aiohttp refuses a request it cannot write (a header byte)
                reason = f"the request could not be made: {type(exc).__name__}: {exc}"
                return Outcome(OutcomeKind.PAYLOAD_REJECTED, message.handle, None, reason)

        return await gather_limited(self._limit, messages, one)

    def retry_after(self, response: HttpResponse, *names: str) -> float | None:
        """Seconds to wait, from the first of ``names`` (default ``Retry-After``) present."""
        for name in names or ("retry-after",):
            value = cls.parse_retry_after(response.headers.get(name), self._options.clock())
            if value is not None:
                return value
        return None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class OAuthHttpSender(HttpSender, ABC):
    """An HTTP/1.1 sender that puts a cached OAuth access token on one request per message."""

    def __init__(self, options: PnsOptions, *, refused: Callable[[Outcome], bool]) -> None:
        super().__init__(options)
        self._refused = refused
        self.tokens = TokenCache(self._fetch_token, options.clock)

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        return await self.tokens.send_with_refresh(messages, self._send_all, refused=self._refused)

    async def _send_all(self, token: str, messages: Sequence[PushMessage]) -> list[Outcome]:
        return await self.each(messages, lambda message: self._send_one(message, token))

    @abstractmethod
    async def _send_one(self, message: PushMessage, token: str) -> Outcome: ...

    @abstractmethod
    async def _fetch_token(self) -> tuple[str, float]: ...


def redirect_detail(response: HttpResponse) -> str:
    """Redirects are never followed (SSRF); say where it pointed."""
    if 300 <= response.status < 400:
        return f"redirect to {response.headers.get('location', '?')} not followed"
    return ""
