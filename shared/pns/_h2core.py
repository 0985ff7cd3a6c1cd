"""A sans-IO HTTP/2 client connection on ``h2``: requests and bytes in, finished streams out.

No sockets and no event loop here (:mod:`shared.pns.http2` is the asyncio adapter). h2 runs with
header validation and normalisation off: every header list is built by our own code, and h2's
normalisation would send ``authorization`` as a never-indexed HPACK literal, which costs about a
quarter of the throughput (h2-limits.md). ``:path`` (a fresh device token each time) goes as a
never-indexed literal instead, so it does not churn the dynamic table.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import h2.events as ev
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.exceptions import H2Error as _ForeignH2Error
from h2.settings import SettingCodes, Settings
from hpack import Encoder, NeverIndexedHeaderTuple

Header = tuple[bytes, bytes]

_CONFIG = H2Configuration(
    client_side=True,
    header_encoding=None,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
)
_DEFAULT_WINDOW = 65535
_RECEIVE_WINDOW = 1 << 24  # responses are tiny; a large window means no WINDOW_UPDATE chatter
_MAX_TRACKED_STREAMS = 1 << 16  # a server that advertises no limit still gets a finite one


def path_header(path: bytes) -> Header:
    """``:path`` as a never-indexed literal: each device token is new, so indexing only churns."""
    return NeverIndexedHeaderTuple(b":path", path)


class H2Failure(Exception):
    """The HTTP/2 connection is unusable (protocol error from either side)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: list[Header]
    body: bytes

    def header(self, name: bytes) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("latin-1")
        return None


@dataclass(frozen=True, slots=True)
class StreamDone:
    """A stream finished: with a response, or reset by the server (``response`` None)."""

    stream_id: int
    response: Response | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    max_streams: int


@dataclass(frozen=True, slots=True)
class GoAway:
    last_stream_id: int
    reason: str


Event = StreamDone | SettingsChanged | GoAway


@dataclass(slots=True)
class _Partial:
    status: int = 0
    headers: list[Header] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)


class _PlainEncoder(Encoder):
    """HPACK without Huffman: literals here are hex tokens and base64 JWTs, where Huffman saves a
    fifth of a few dozen bytes and costs more CPU than the rest of the header block."""

    def encode(self, headers: Any, huffman: bool = True) -> bytes:
        return super().encode(headers, huffman=False)


class _LeanConnection(H2Connection):
    """h2 walks every stream to count the open ones before each new stream (O(n) per request,
    the largest single cost at hundreds of streams). The core keeps the set of its streams
    instead, and lets h2 prune closed streams once per ``_PRUNE_EVERY`` finished streams."""

    _PRUNE_EVERY = 256
    # h2 remembers how each closed stream ended (to answer late frames on it) for the last 65,536
    # streams: about 280 bytes each, so 18 MB per long-lived connection. Late frames come within
    # a round trip of a reset, a few hundred streams at most.
    MAX_CLOSED_STREAMS = 4096

    def __init__(self) -> None:
        super().__init__(config=_CONFIG)
        self.encoder = _PlainEncoder()
        self.active: set[int] = set()  # our streams not yet answered, reset or cancelled
        self._finished = 0

    @property
    def open_outbound_streams(self) -> int:
        return len(self.active)

    def finish(self, stream_id: int) -> bool:
        """Forget an active stream; False if it was not active (already finished)."""
        if stream_id not in self.active:
            return False
        self.active.discard(stream_id)
        self._finished += 1
        if self._finished >= self._PRUNE_EVERY:
            self._finished = 0
            self._open_streams(int(self.config.client_side))
        return True


class ClientCore:
    """One client-side HTTP/2 connection's state. Call :meth:`data_to_send` after any method."""

    def __init__(self) -> None:
        self._conn = _LeanConnection()
        self._partial: dict[int, _Partial] = {}
        self._blocked: dict[int, memoryview] = {}  # bodies waiting for send window
        self.max_streams = 0  # 0 until the server's first SETTINGS frame arrives

    def start(self) -> None:
        conn = self._conn
        # A fresh Settings object: ``update()`` would only queue values the preface never sends.
        conn.local_settings = Settings(
            client=True,
            initial_values={
                SettingCodes.ENABLE_PUSH: 0,
                SettingCodes.INITIAL_WINDOW_SIZE: _RECEIVE_WINDOW,
            },
        )
        conn.initiate_connection()
        conn.increment_flow_control_window(_RECEIVE_WINDOW - _DEFAULT_WINDOW)

    def data_to_send(self) -> bytes:
        return self._conn.data_to_send()

    @property
    def active(self) -> int:
        """Streams opened and not yet answered, reset or cancelled."""
        return len(self._conn.active)

    @property
    def capacity(self) -> int:
        return self.max_streams - len(self._conn.active)

    def request(self, headers: list[Header], body: bytes) -> int:
        """Open a stream for one request; answers its stream id."""
        conn = self._conn
        try:
            sid: int = conn.get_next_available_stream_id()
            conn.send_headers(sid, headers, end_stream=not body)
            self._conn.active.add(sid)
            if body:
                self._send_body(sid, memoryview(body))
        except _ForeignH2Error as exc:
            raise H2Failure(f"cannot open a stream: {exc}") from exc
        return sid

    def cancel(self, stream_id: int) -> None:
        """Give up on an active stream (timeout): reset it and forget its state."""
        self._blocked.pop(stream_id, None)
        self._partial.pop(stream_id, None)
        self._conn.finish(stream_id)
        with contextlib.suppress(_ForeignH2Error):  # already closed by the server
            self._conn.reset_stream(stream_id, ErrorCodes.CANCEL)

    def close(self) -> None:
        with contextlib.suppress(_ForeignH2Error):  # already closed
            self._conn.close_connection()

    def receive(self, data: bytes) -> list[Event]:
        try:
            events = self._conn.receive_data(data)
        except _ForeignH2Error as exc:
            raise H2Failure(f"HTTP/2 protocol error: {exc}") from exc
        out: list[Event] = []
        partial = self._partial
        for event in events:
            if isinstance(event, ev.ResponseReceived):
                self._on_response(event)
            elif isinstance(event, ev.DataReceived):
                self._on_data(event)
            elif isinstance(event, ev.StreamEnded):
                sid = event.stream_id
                got = partial.pop(sid, None)
                if self._conn.finish(sid) and got is not None:
                    out.append(
                        StreamDone(sid, Response(got.status, got.headers, b"".join(got.body)))
                    )
            elif isinstance(event, ev.StreamReset):
                out.extend(self._on_reset(event))
            elif isinstance(event, ev.WindowUpdated):
                self._flush_blocked()
            elif isinstance(event, ev.RemoteSettingsChanged):
                limit = self._conn.remote_settings.max_concurrent_streams
                self.max_streams = min(limit, _MAX_TRACKED_STREAMS)
                out.append(SettingsChanged(self.max_streams))
            elif isinstance(event, ev.ConnectionTerminated):
                out.append(_goaway(event))
        return out

    def _on_response(self, event: ev.ResponseReceived) -> None:
        headers = event.headers or []
        status = 0
        for key, value in headers:
            if key == b":status":
                status = int(value)
                break
        self._partial[event.stream_id] = _Partial(status, list(headers))

    def _on_data(self, event: ev.DataReceived) -> None:
        got = self._partial.get(event.stream_id)
        if got is not None and event.data:
            got.body.append(event.data)
        if event.flow_controlled_length:
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)

    def _on_reset(self, event: ev.StreamReset) -> list[Event]:
        sid = event.stream_id
        self._blocked.pop(sid, None)
        self._partial.pop(sid, None)
        if not self._conn.finish(sid):
            return []
        return [StreamDone(sid, None, f"stream reset by the server (error {event.error_code!s})")]

    def _send_body(self, sid: int, body: memoryview) -> None:
        conn = self._conn
        while body:
            size = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size, len(body))
            if size <= 0:
                self._blocked[sid] = body  # resumes on the server's WINDOW_UPDATE
                return
            conn.send_data(sid, body[:size].tobytes(), end_stream=size == len(body))
            body = body[size:]

    def _flush_blocked(self) -> None:
        pending, self._blocked = self._blocked, {}
        for sid, body in pending.items():
            self._send_body(sid, body)


def _goaway(event: ev.ConnectionTerminated) -> GoAway:
    code = event.error_code
    name = code.name if isinstance(code, ErrorCodes) else str(code)
    reason = f"GOAWAY {name}"
    if event.additional_data:
        reason += f" {event.additional_data.decode('utf-8', 'replace')}"
    return GoAway(event.last_stream_id or 0, reason)
