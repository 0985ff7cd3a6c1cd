"""A pooled HTTP/2 client for the high-volume PNS paths (APNs, FCM): asyncio over the sans-IO core.

Each connection is an :class:`asyncio.Protocol` driving a :class:`ClientCore`; requests resolve
futures from ``data_received``, with no task per request, and writes are coalesced once per loop
turn. The pool keeps up to ``max_connections`` connections to one origin: it respects the
server's SETTINGS_MAX_CONCURRENT_STREAMS, opens another connection when one carries
``streams_per_connection`` streams, replaces connections after GOAWAY, a drop, or once one
has used up its stream ids (about a billion requests), and times out each request. Failures
come back as :class:`TransportError` values, never raised into a batch.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.pns._classify import TransportError
from shared.pns._h2core import ClientCore, Event, GoAway, H2Failure, Response, StreamDone
from shared.pns._hpack import Header, path_header
from shared.pns.options import PnsOptions

__all__ = ["H2Pool", "Header", "Response", "TransportError", "path_header"]

# Requests encoded before a write. Writing once per loop turn left the server idle while a whole
# batch was encoded: writing every 64 took the APNs sender from 70 % to 100 % of the simulator's
# h2load ceiling in paired runs (docs/performance.md).
_WRITE_EVERY = 64


@dataclass(slots=True)
class _Request:
    headers: list[Header]
    body: bytes
    future: asyncio.Future[Response]
    deadline: float

    def fail(self, reason: str) -> None:
        if not self.future.done():
            self.future.set_exception(TransportError(reason))


class _Connection(asyncio.Protocol):
    def __init__(self, pool: H2Pool) -> None:
        self._pool = pool
        self.core = ClientCore()
        self.inflight: dict[int, _Request] = {}
        self.ready: asyncio.Future[None] = pool.loop.create_future()
        self.usable = False  # ready and not draining after GOAWAY
        self._transport: asyncio.Transport | None = None
        self._flush_scheduled = False
        self._unflushed = 0
        self._retired = False  # out of stream ids: closes once its streams are answered

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        tls = transport.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() not in (None, "h2"):
            self._lost(f"server chose ALPN {tls.selected_alpn_protocol()!r}, not h2")
            return
        self.core.start()
        transport.write(self.core.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            events = self.core.receive(data)
        except H2Failure as exc:
            self._settle(exc.events)  # answered before the breach: not to be sent again
            self._lost(str(exc))
            return
        self._settle(events)
        self._flush()
        if self._retired and not self.inflight:
            self.close()
            return
        self._pool.on_capacity(self)

    def _settle(self, events: list[Event]) -> None:
        inflight = self.inflight
        for event in events:
            if isinstance(event, StreamDone):
                request = inflight.pop(event.stream_id, None)
                if request is None or request.future.done():
                    continue
                if event.response is None:
                    request.future.set_exception(TransportError(event.error))
                else:
                    request.future.set_result(event.response)
            elif isinstance(event, GoAway):
                self._on_goaway(event)
            elif not self.ready.done():
                self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(f"connection lost: {exc}" if exc else "connection closed by the server")

    def start(self, request: _Request) -> None:
        try:
            sid = self.core.request(request.headers, request.body)
        except H2Failure as exc:
            request.fail(str(exc))
            self._lost(str(exc))
            return
        self.inflight[sid] = request
        if not self.core.ids_left:
            self._retire()
        self._unflushed += 1
        if self._unflushed >= _WRITE_EVERY:
            self._write()  # the scheduled flush, if any, writes what follows
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._pool.loop.call_soon(self._flush)

    def expire(self, now: float) -> None:
        expired = []
        for sid, request in self.inflight.items():
            if request.deadline > now:
                break  # deadlines mostly grow with stream ids; a straggler waits one sweep
            expired.append(sid)
        for sid in expired:
            self.core.cancel(sid)
            self.inflight.pop(sid).fail(f"no answer within {self._pool.timeout:g} s")
        if expired:
            self._flush()
            if self._retired and not self.inflight:
                self.close()

    def close(self) -> None:
        self.core.close()
        self._flush()
        if self._transport is not None:
            self._transport.close()
        self._lost("sender closed")

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._write()

    def _write(self) -> None:
        self._unflushed = 0
        data = self.core.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _retire(self) -> None:
        """No new streams here; the pool opens another connection for what follows."""
        self.usable = False
        self._retired = True
        self._pool.forget(self)

    def _on_goaway(self, event: GoAway) -> None:
        self.usable = False
        self._pool.forget(self)
        for sid in [sid for sid in self.inflight if sid > event.last_stream_id]:
            self.inflight.pop(sid).fail(f"not processed before {event.reason}")
        if not self.inflight and self._transport is not None:
            self._transport.close()

    def _lost(self, reason: str) -> None:
        self.usable = False
        if not self.ready.done():
            self.ready.set_exception(TransportError(reason))
            self.ready.exception()  # retrieved here; the connecting task reports it
        self._pool.forget(self, gone=True)
        inflight, self.inflight = self.inflight, {}
        for request in inflight.values():
            request.fail(reason)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


class H2Pool:
    """HTTP/2 connections to one origin (``https://host[:port]``, or ``http://`` for h2c)."""

    def __init__(
        self, origin: str, options: PnsOptions, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        parts = urlsplit(origin)
        self._host = parts.hostname or ""
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        self._ssl = (ssl_context or options.ssl_context(alpn_h2=True)) if self._tls else None
        self.authority = parts.netloc.encode("ascii")
        self._scheme = parts.scheme.encode("ascii")
        self.timeout = options.request_timeout
        self._options = options
        self._limit = asyncio.Semaphore(options.max_in_flight)
        self._ready: list[_Connection] = []  # usable: ready and not draining
        self._live: set[_Connection] = set()  # every connection that may still hold streams
        self._queue: deque[_Request] = deque()
        self._connecting: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False
        self.connections_opened = 0
        self.loop = asyncio.get_running_loop()

    @property
    def connection_count(self) -> int:
        return len(self._ready)

    def request_headers(self, path: bytes, method: bytes = b"POST") -> list[Header]:
        """The four pseudo-headers for a request on this origin, to extend with the rest."""
        return [
            (b":method", method),
            (b":scheme", self._scheme),
            (b":authority", self.authority),
            path_header(path),
        ]

    async def send_all(
        self, requests: Sequence[tuple[list[Header], bytes]]
    ) -> list[Response | TransportError]:
        """Send every request concurrently (at most ``max_in_flight`` at once), answers in order."""
        futures = []
        for headers, body in requests:
            await self._limit.acquire()
            future = self.submit(headers, body)
            future.add_done_callback(self._release)
            futures.append(future)
        results: list[Response | TransportError] = []
        for future in futures:
            try:
                results.append(await future)
            except TransportError as exc:
                results.append(exc)
        return results

    def submit(self, headers: list[Header], body: bytes) -> asyncio.Future[Response]:
        future: asyncio.Future[Response] = self.loop.create_future()
        request = _Request(headers, body, future, self.loop.time() + self.timeout)
        if self._closed:
            request.fail("sender closed")
            return future
        conn = self._pick()
        if conn is None:
            self._queue.append(request)
            self._grow()
        else:
            conn.start(request)
            if conn.core.active >= self._options.streams_per_connection:
                self._grow()
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self._sweep_interval(), self._sweep)
        return future

    def on_capacity(self, conn: _Connection) -> None:
        queue = self._queue
        while queue and conn.usable and conn.core.capacity > 0:
            conn.start(queue.popleft())

    def forget(self, conn: _Connection, *, gone: bool = False) -> None:
        """Stop giving ``conn`` new streams (GOAWAY); ``gone``: it has no streams left either."""
        if conn in self._ready:
            self._ready.remove(conn)
        if gone:
            self._live.discard(conn)
        if self._queue:
            self._grow()

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._connecting):
            task.cancel()
        for conn in list(self._live):
            conn.close()
        while self._queue:
            self._queue.popleft().fail("sender closed")
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _release(self, _: asyncio.Future[Response]) -> None:
        self._limit.release()

    def _pick(self) -> _Connection | None:
        best, best_free = None, 0
        for conn in self._ready:
            free = conn.core.capacity
            if free > best_free:
                best, best_free = conn, free
        return best

    def _grow(self) -> None:
        if self._closed or self._connecting:
            return
        if len(self._ready) >= self._options.max_connections:
            return
        task = self.loop.create_task(self._connect())
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self) -> None:
        conn = _Connection(self)
        self._live.add(conn)
        try:
            async with asyncio.timeout(self._options.connect_timeout):
                await self.loop.create_connection(
                    lambda: conn,
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._tls else None,
                )
                await conn.ready
        except (OSError, TimeoutError, TransportError, ssl.SSLError) as exc:
            conn.close()
            self._connect_failed(f"cannot connect to {self._host}:{self._port}: {exc!r}")
            return
        self.connections_opened += 1
        conn.usable = True
        self._ready.append(conn)
        self.on_capacity(conn)
        task = asyncio.current_task()
        if task is not None:  # done callbacks run too late for the growth check below
            self._connecting.discard(task)
        if self._queue:
            self._grow()

    def _connect_failed(self, reason: str) -> None:
        if self._ready:
            return  # queued requests still drain into the live connections
        while self._queue:
            self._queue.popleft().fail(reason)

    def _sweep_interval(self) -> float:
        return min(1.0, self.timeout / 4)

    def _sweep(self) -> None:
        now = self.loop.time()
        while self._queue and self._queue[0].deadline <= now:
            self._queue.popleft().fail(f"no connection within {self.timeout:g} s")
        busy = bool(self._queue)
        for conn in list(self._live):
            conn.expire(now)
            busy = busy or bool(conn.inflight)
        self._sweeper = None
        if busy:
            self._sweeper = self.loop.call_later(self._sweep_interval(), self._sweep)
