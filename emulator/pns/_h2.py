"""A thin asyncio adapter that drives an ``h2.H2Connection`` for a ``Request -> Reply`` handler.

Replies are written exactly as asked: a bodiless reply is one HEADERS frame carrying END_STREAM
(what APNs sends on success), a reply with a body is HEADERS then one DATA frame. Writes are
coalesced once per batch of received frames.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

from emulator.pns._http import Action, Connection, Handler, Reply, Request

_log = logging.getLogger(__name__)

# Header validation off: the simulators check what the services check, and h2's own checks
# cost about a quarter of the throughput (reference h2-limits.md, row 4h).
_CONFIG = H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)
_CONNECTION_WINDOW = 1 << 30
_LARGE_BODY = 16384


class _ServerConnection(H2Connection):
    # h2 remembers how each of a connection's last 65,536 closed streams ended (for late frames
    # on them): up to ~18 MB per connection over a long run. Late frames come within a round trip.
    MAX_CLOSED_STREAMS = 4096


@dataclass
class H2Counters:
    """Figures about one server's connections; a server given none skips the bookkeeping."""

    connections: int = 0
    peak_streams: int = 0  # most streams open at once on one connection


class H2ServerProtocol(asyncio.Protocol):
    def __init__(
        self,
        handler: Handler,
        max_streams: int,
        live: set[H2ServerProtocol] | None = None,
        *,
        counters: H2Counters | None = None,
    ) -> None:
        self._handler = handler
        self._live = live if live is not None else set()
        self._counters = counters
        self._max_streams = max_streams
        self._streams: dict[int, tuple[list[tuple[bytes, bytes]], bytearray]] = {}
        self._closed = False
        self._unacked = 0
        self._transport: asyncio.Transport | None = None
        self._h2 = _ServerConnection(config=_CONFIG)
        self._conn = Connection()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._live.add(self)
        if self._counters is not None:
            self._counters.connections += 1
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject):
            self._conn.peer_cert = ssl_object.getpeercert() or None
        self._h2.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: self._max_streams,
                SettingCodes.MAX_HEADER_LIST_SIZE: 16384,
            },
        )
        self._h2.initiate_connection()
        # A wide connection window: with the default 64 KiB, hundreds of concurrent streams
        # stall on WINDOW_UPDATEs and pile up in h2's O(open streams) bookkeeping.
        self._h2.increment_flow_control_window(_CONNECTION_WINDOW)
        transport.write(self._h2.data_to_send())

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._streams.clear()
        self._live.discard(self)

    def close(self) -> None:
        """Shut the connection down (server shutdown)."""
        self._close()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            events = self._h2.receive_data(data)
            if self._counters is not None:
                _count_streams(self._counters, self._h2)
            for event in events:
                if isinstance(event, RequestReceived):
                    self._streams[event.stream_id] = (event.headers, bytearray())
                elif isinstance(event, DataReceived):
                    self._on_data(event)
                elif isinstance(event, StreamEnded):
                    self._dispatch(event.stream_id)
                elif isinstance(event, StreamReset):
                    self._streams.pop(event.stream_id, None)
                elif isinstance(event, ConnectionTerminated):
                    self._close()
                    return
        except ProtocolError:  # the peer broke HTTP/2; h2 has queued a GOAWAY for it
            self._flush()
            self._close()
            return
        self._flush()

    def _on_data(self, event: DataReceived) -> None:
        entry = self._streams.get(event.stream_id)
        if entry is not None:
            entry[1].extend(event.data)
            if len(entry[1]) > _LARGE_BODY:  # keep a big body's stream window open
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                return
        # Small bodies end before their stream window does: only the connection needs topping up.
        self._unacked += event.flow_controlled_length
        if self._unacked > _CONNECTION_WINDOW // 2:
            self._h2.increment_flow_control_window(self._unacked)
            self._unacked = 0

    def _dispatch(self, stream_id: int) -> None:
        entry = self._streams.pop(stream_id, None)
        if entry is None:
            return
        reply = self._handler(_request(entry[0], bytes(entry[1]), self._conn))
        if reply.delay:
            asyncio.get_running_loop().call_later(reply.delay, self._send_later, stream_id, reply)
        else:
            self._send(stream_id, reply)

    def _send_later(self, stream_id: int, reply: Reply) -> None:
        self._send(stream_id, reply)
        self._flush()

    def _send(self, stream_id: int, reply: Reply) -> None:
        if self._closed:
            return
        if reply.action is Action.DROP:
            self._abort()
            return
        if reply.action is Action.GOAWAY:
            # Streams from this one on were not processed: the client may retry them.
            self._h2.close_connection(
                ErrorCodes.NO_ERROR, reply.goaway_reason, last_stream_id=max(stream_id - 2, 0)
            )
            self._flush()
            self._close()
            return
        headers = [(b":status", str(reply.status).encode())]
        headers.extend((name.encode(), value.encode()) for name, value in reply.headers)
        try:
            if reply.body:
                headers.append((b"content-length", str(len(reply.body)).encode()))
                self._h2.send_headers(stream_id, headers)
                self._h2.send_data(stream_id, reply.body, end_stream=True)
            else:
                self._h2.send_headers(stream_id, headers, end_stream=True)
        except ProtocolError:  # the client reset the stream or the connection meanwhile
            _log.debug("stream %d closed before its reply", stream_id)

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._closed:
            self._transport.write(data)

    def _close(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.close()

    def _abort(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.abort()


def _count_streams(counters: H2Counters, h2: H2Connection) -> None:
    # Taken after a read, before any answer: the most this read can have opened. h2 counts
    # in O(open streams), which is why servers without counters skip it.
    counters.peak_streams = max(counters.peak_streams, h2.open_inbound_streams)


def _request(raw: list[tuple[bytes, bytes]], body: bytes, conn: Connection) -> Request:
    method = path = ""
    headers: dict[str, str] = {}
    duplicates: set[str] = set()
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name == ":method":
            method = value
        elif name == ":path":
            path = value
        elif name[0] != ":":
            if name in headers:
                duplicates.add(name)
            headers[name] = value
    path, _, query = path.partition("?")
    return Request(method, path, query, headers, body, conn, frozenset(duplicates))


class AlpnSwitch(asyncio.Protocol):
    """Hands each TLS connection to the HTTP/2 or the HTTP/1.1 protocol, by negotiated ALPN."""

    def __init__(
        self,
        h2_factory: Callable[[], asyncio.Protocol],
        h1_factory: Callable[[], asyncio.Protocol],
    ) -> None:
        self._h2_factory = h2_factory
        self._h1_factory = h1_factory

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        protocol = self._h2_factory() if alpn == "h2" else self._h1_factory()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


def listening_socket(host: str, port: int, *, reuseport: bool = False) -> socket.socket:
    """A bound, listening TCP socket; SO_REUSEPORT lets several processes share the port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock
