"""A sans-IO HTTP/2 client connection: requests and bytes in, finished streams out.

No sockets and no event loop here (:mod:`shared.pns.http2` is the asyncio adapter). This is the
client half of RFC 9113 a push sender needs, written for its one job: many small POSTs on a
long-lived connection and small answers back. It was ``h2``'s ``H2Connection``; that spent
about 60 µs of CPU per request on frame objects and two state machines per stream, two thirds
of the APNs sender's time (decisions.md, 71). Frames are packed and parsed here directly, and
header blocks go through :mod:`shared.pns._hpack`.

What it enforces from the server: frame sizes, the header-block sequence (CONTINUATION), flow
control on both directions, stream ids it never opened, PUSH_PROMISE (push is disabled), and a
bound on each response's size. A breach fails the connection (:class:`H2Failure`); the pool
retries its streams elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from struct import Struct

from shared.pns._hpack import Header, HeaderDecoder, HeaderDecodingError, HeaderEncoder

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_FRAME_HEADER = Struct(">HBBBL")  # length (24 bits, as 16 + 8), type, flags, stream id
_SETTING = Struct(">HL")
_WINDOW = Struct(">L")
_GOAWAY = Struct(">LL")

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0x0, 0x1, 0x2, 0x3, 0x4, 0x5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x6, 0x7, 0x8, 0x9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE = 0x4, 0x5

ERROR_NAMES = (
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
)
_PROTOCOL_ERROR, _FLOW_CONTROL_ERROR, _FRAME_SIZE_ERROR, _CANCEL = 0x1, 0x3, 0x6, 0x8
_COMPRESSION_ERROR = 0x9

_DEFAULT_WINDOW = 65535
_MAX_WINDOW = (1 << 31) - 1
_RECEIVE_WINDOW = 1 << 24  # responses are tiny; a large window means no WINDOW_UPDATE chatter
_MIN_FRAME = 16384  # the largest frame either side may send until told otherwise
_MAX_FRAME = (1 << 24) - 1
_MAX_STREAM_ID = (1 << 31) - 1
_MAX_TRACKED_STREAMS = 1 << 16  # a server that advertises no limit still gets a finite one
# An answer is a status and a few headers, or a small JSON error; a server sending more is broken.
MAX_RESPONSE_BYTES = 1 << 20
_MAX_HEADER_LIST = 1 << 16


class H2Failure(Exception):
    """The HTTP/2 connection is unusable (protocol error from either side). ``events`` holds
    what the same bytes finished before the breach: answers that did arrive."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.events: list[Event] = []


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


def error_name(code: int) -> str:
    return ERROR_NAMES[code] if code < len(ERROR_NAMES) else f"error {code:#x}"


@dataclass(slots=True)
class _Stream:
    window: int  # what the server lets us send on it
    body: memoryview | None = None  # what waits for window
    status: int = 0
    headers: list[Header] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    received: int = 0


class ClientCore:
    """One client-side HTTP/2 connection's state. Call :meth:`data_to_send` after any method."""

    def __init__(self) -> None:
        self._out: list[bytes] = []
        self._in = b""  # the start of a frame not yet whole
        self._streams: dict[int, _Stream] = {}  # opened and not yet answered, reset or cancelled
        self._next_id = 1
        self._encoder = HeaderEncoder()
        self._decoder = HeaderDecoder(max_list_size=_MAX_HEADER_LIST)
        self._send_window = _DEFAULT_WINDOW  # the connection's, for our DATA
        self._stream_window = _DEFAULT_WINDOW  # the server's initial window for new streams
        self._frame_size = _MIN_FRAME  # the largest frame the server takes
        self._consumed = 0  # DATA bytes received since our last connection WINDOW_UPDATE
        self._blocked: dict[int, _Stream] = {}  # streams whose bodies wait for window
        self._header_block: tuple[int, int, list[bytes]] | None = None  # sid, flags, fragments
        self.max_streams = 0  # 0 until the server's first SETTINGS frame arrives
        self._settled = False  # the server's first SETTINGS frame has arrived

    # -- what the pool calls --------------------------------------------------------------------

    def start(self) -> None:
        settings = _SETTING.pack(ENABLE_PUSH, 0) + _SETTING.pack(
            INITIAL_WINDOW_SIZE, _RECEIVE_WINDOW
        )
        self._out.append(PREFACE)
        self._frame(SETTINGS, 0, 0, settings)
        self._frame(WINDOW_UPDATE, 0, 0, _WINDOW.pack(_RECEIVE_WINDOW - _DEFAULT_WINDOW))

    def data_to_send(self) -> bytes:
        out, self._out = self._out, []
        return b"".join(out)

    @property
    def active(self) -> int:
        """Streams opened and not yet answered, reset or cancelled."""
        return len(self._streams)

    @property
    def capacity(self) -> int:
        return self.max_streams - len(self._streams)

    @property
    def ids_left(self) -> int:
        """Streams this connection can still open: ids are odd and end at 2^31 - 1, so a busy
        connection runs out after about a billion requests."""
        return max(0, (_MAX_STREAM_ID - self._next_id) // 2 + 1)

    def request(self, headers: list[Header], body: bytes) -> int:
        """Open a stream for one request; answers its stream id."""
        sid = self._next_id
        if sid > _MAX_STREAM_ID:
            raise H2Failure("cannot open a stream: stream ids are used up on this connection")
        self._next_id = sid + 2
        block = self._encoder.encode(headers)
        flags = 0 if body else END_STREAM
        if len(block) <= self._frame_size:
            self._frame(HEADERS, flags | END_HEADERS, sid, block)
        else:
            self._split_headers(sid, flags, block)
        stream = _Stream(self._stream_window)
        self._streams[sid] = stream
        size = len(body)
        if not size:
            return sid
        if size <= self._send_window and size <= stream.window and size <= self._frame_size:
            self._frame(DATA, END_STREAM, sid, body)  # the usual case: one frame, no copy
            self._send_window -= size
            stream.window -= size
        else:
            self._send_body(sid, stream, memoryview(body))
        return sid

    def cancel(self, stream_id: int) -> None:
        """Give up on an active stream (timeout): reset it and forget its state."""
        self._blocked.pop(stream_id, None)
        if self._streams.pop(stream_id, None) is not None:
            self._frame(RST_STREAM, 0, stream_id, _WINDOW.pack(_CANCEL))

    def close(self) -> None:
        self._goaway(0)

    def receive(self, data: bytes) -> list[Event]:
        buffer = self._in + data if self._in else data
        out: list[Event] = []
        offset, end = 0, len(buffer)
        try:
            while end - offset >= 9:
                high, low, kind, flags, sid = _FRAME_HEADER.unpack_from(buffer, offset)
                length = (high << 8) | low
                if length > _MIN_FRAME:  # we never advertise a larger SETTINGS_MAX_FRAME_SIZE
                    self._fail(_FRAME_SIZE_ERROR, f"a frame of {length} bytes")
                if end - offset - 9 < length:
                    break
                payload = buffer[offset + 9 : offset + 9 + length]
                offset += 9 + length
                self._on_frame(kind, flags, sid & _MAX_STREAM_ID, payload, out)
        except H2Failure as failure:
            failure.events = out
            raise
        self._in = buffer[offset:]
        return out

    # -- frames out -----------------------------------------------------------------------------

    def _frame(self, kind: int, flags: int, sid: int, payload: bytes) -> None:
        length = len(payload)
        self._out.append(_FRAME_HEADER.pack(length >> 8, length & 0xFF, kind, flags, sid))
        self._out.append(payload)

    def _split_headers(self, sid: int, flags: int, block: bytes) -> None:
        size = self._frame_size
        chunks = [block[start : start + size] for start in range(0, len(block), size)]
        self._frame(HEADERS, flags, sid, chunks[0])
        for chunk in chunks[1:-1]:
            self._frame(CONTINUATION, 0, sid, chunk)
        self._frame(CONTINUATION, END_HEADERS, sid, chunks[-1])

    def _send_body(self, sid: int, stream: _Stream, body: memoryview) -> None:
        while body:
            size = min(self._send_window, stream.window, self._frame_size, len(body))
            if size <= 0:
                stream.body = body  # resumes on the server's WINDOW_UPDATE
                self._blocked[sid] = stream
                return
            last = size == len(body)
            self._frame(DATA, END_STREAM if last else 0, sid, body[:size].tobytes())
            self._send_window -= size
            stream.window -= size
            body = body[size:]
        stream.body = None

    def _flush_blocked(self) -> None:
        pending, self._blocked = self._blocked, {}
        for sid, stream in pending.items():
            if stream.body is not None and sid in self._streams:
                self._send_body(sid, stream, stream.body)

    def _goaway(self, code: int) -> None:
        self._frame(GOAWAY, 0, 0, _GOAWAY.pack(0, code))  # a client processes no server streams

    def _fail(self, code: int, reason: str) -> None:
        self._goaway(code)
        raise H2Failure(f"HTTP/2 protocol error: {reason}")

    # -- frames in ------------------------------------------------------------------------------

    def _on_frame(self, kind: int, flags: int, sid: int, payload: bytes, out: list[Event]) -> None:
        if self._header_block is not None and kind != CONTINUATION:
            self._fail(_PROTOCOL_ERROR, "a header block was interrupted")
        if kind == HEADERS:
            self._on_headers(flags, sid, payload, out)
        elif kind == DATA:
            self._on_data(flags, sid, payload, out)
        elif kind == CONTINUATION:
            self._on_continuation(flags, sid, payload, out)
        elif kind == RST_STREAM:
            self._on_reset(sid, payload, out)
        elif kind == SETTINGS:
            self._on_settings(flags, sid, payload, out)
        elif kind == WINDOW_UPDATE:
            self._on_window_update(sid, payload)
        elif kind == PING:
            if sid or len(payload) != 8:
                self._fail(_PROTOCOL_ERROR, "a malformed PING")
            if not flags & ACK:
                self._frame(PING, ACK, 0, payload)
        elif kind == GOAWAY:
            self._on_goaway(sid, payload, out)
        elif kind == PUSH_PROMISE:
            self._fail(_PROTOCOL_ERROR, "PUSH_PROMISE with push disabled")
        elif kind == PRIORITY and len(payload) != 5:
            self._fail(_FRAME_SIZE_ERROR, "a PRIORITY frame of the wrong size")
        # Other frame types are ignored, as RFC 9113 (5.5) asks.

    def _check_stream(self, sid: int) -> None:
        """Frames on stream 0 where a stream is meant, on ids the server may not use, or on ids
        not yet opened, break the protocol. Closed streams' late frames are dropped quietly."""
        if sid == 0 or sid % 2 == 0 or sid >= self._next_id:
            self._fail(_PROTOCOL_ERROR, f"a frame on stream {sid}, which this client never opened")

    def _unpadded(self, flags: int, payload: bytes) -> bytes:
        if not flags & PADDED:
            return payload
        if not payload or payload[0] >= len(payload):
            self._fail(_PROTOCOL_ERROR, "padding longer than the frame")
        return payload[1 : len(payload) - payload[0]]

    def _on_headers(self, flags: int, sid: int, payload: bytes, out: list[Event]) -> None:
        self._check_stream(sid)
        fragment = self._unpadded(flags, payload)
        if flags & PRIORITY_FLAG:
            if len(fragment) < 5:
                self._fail(_PROTOCOL_ERROR, "a HEADERS frame too short for its priority")
            fragment = fragment[5:]
        if flags & END_HEADERS:
            self._on_header_block(flags, sid, fragment, out)
        else:
            self._header_block = (sid, flags, [fragment])

    def _on_continuation(self, flags: int, sid: int, payload: bytes, out: list[Event]) -> None:
        block = self._header_block
        if block is None or block[0] != sid:
            self._fail(_PROTOCOL_ERROR, "a CONTINUATION frame outside a header block")
        assert block is not None
        block[2].append(payload)
        if sum(map(len, block[2])) > _MAX_HEADER_LIST:
            self._fail(_PROTOCOL_ERROR, "a header block over 64 KiB")
        if flags & END_HEADERS:
            self._header_block = None
            self._on_header_block(block[1], sid, b"".join(block[2]), out)

    def _on_header_block(self, flags: int, sid: int, block: bytes, out: list[Event]) -> None:
        # Every block is decoded, for a closed stream too: the decoder's table must keep step.
        try:
            headers = self._decoder.decode(block)
        except HeaderDecodingError as exc:
            self._fail(_COMPRESSION_ERROR, f"an undecodable header block ({exc})")
        stream = self._streams.get(sid)
        if stream is None:
            return
        if stream.status == 0:
            status = next((value for name, value in headers if name == b":status"), b"")
            if not status.isdigit() or len(status) != 3:
                self._finish(sid, out, f"an answer without a valid :status ({status!r})")
                return
            if 100 <= int(status) < 200:
                return  # informational; the final answer follows
            stream.status = int(status)
            stream.headers = list(headers)
        else:
            stream.headers.extend(headers)  # trailers
        if flags & END_STREAM:
            self._finish(sid, out)

    def _on_data(self, flags: int, sid: int, payload: bytes, out: list[Event]) -> None:
        self._check_stream(sid)
        self._consumed += len(payload)
        if self._consumed > _RECEIVE_WINDOW:
            self._fail(_FLOW_CONTROL_ERROR, "DATA beyond the connection's window")
        if self._consumed >= _RECEIVE_WINDOW // 2:
            self._frame(WINDOW_UPDATE, 0, 0, _WINDOW.pack(self._consumed))
            self._consumed = 0
        stream = self._streams.get(sid)
        if stream is None:
            return
        if stream.status == 0:
            self._finish(sid, out, "DATA before the answer's headers")
            return
        data = self._unpadded(flags, payload)
        stream.received += len(payload)
        if stream.received > MAX_RESPONSE_BYTES:
            self.cancel(sid)
            out.append(StreamDone(sid, None, f"an answer over {MAX_RESPONSE_BYTES} bytes"))
            return
        if data:
            stream.chunks.append(data)
        if flags & END_STREAM:
            self._finish(sid, out)

    def _finish(self, sid: int, out: list[Event], error: str = "") -> None:
        stream = self._streams.pop(sid)
        self._blocked.pop(sid, None)
        if error:
            self._frame(RST_STREAM, 0, sid, _WINDOW.pack(_PROTOCOL_ERROR))
            out.append(StreamDone(sid, None, error))
        else:
            body = b"".join(stream.chunks)
            out.append(StreamDone(sid, Response(stream.status, stream.headers, body)))

    def _on_reset(self, sid: int, payload: bytes, out: list[Event]) -> None:
        if len(payload) != 4:
            self._fail(_FRAME_SIZE_ERROR, "a RST_STREAM frame of the wrong size")
        self._check_stream(sid)
        self._blocked.pop(sid, None)
        if self._streams.pop(sid, None) is not None:
            (code,) = _WINDOW.unpack(payload)
            out.append(StreamDone(sid, None, f"stream reset by the server ({error_name(code)})"))

    def _on_settings(self, flags: int, sid: int, payload: bytes, out: list[Event]) -> None:
        if sid:
            self._fail(_PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            return
        if len(payload) % 6:
            self._fail(_FRAME_SIZE_ERROR, "a SETTINGS frame of the wrong size")
        settings = [_SETTING.unpack_from(payload, offset) for offset in range(0, len(payload), 6)]
        for code, value in settings:
            if code == HEADER_TABLE_SIZE:
                self._encoder.resize(value)
            elif code == MAX_CONCURRENT_STREAMS:
                self.max_streams = min(value, _MAX_TRACKED_STREAMS)
            elif code == INITIAL_WINDOW_SIZE:
                if value > _MAX_WINDOW:
                    self._fail(_FLOW_CONTROL_ERROR, f"an initial window of {value}")
                delta, self._stream_window = value - self._stream_window, value
                for stream in self._streams.values():
                    stream.window += delta
            elif code == MAX_FRAME_SIZE:
                if not _MIN_FRAME <= value <= _MAX_FRAME:
                    self._fail(_PROTOCOL_ERROR, f"a maximum frame size of {value}")
                self._frame_size = value
        if not self._settled:
            self._settled = True
            if not any(code == MAX_CONCURRENT_STREAMS for code, _ in settings):
                self.max_streams = _MAX_TRACKED_STREAMS  # no limit given: RFC 9113 says none
        self._frame(SETTINGS, ACK, 0, b"")
        out.append(SettingsChanged(self.max_streams))
        self._flush_blocked()

    def _on_window_update(self, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            self._fail(_FRAME_SIZE_ERROR, "a WINDOW_UPDATE frame of the wrong size")
        (increment,) = _WINDOW.unpack(payload)
        increment &= _MAX_WINDOW
        if sid == 0:
            if increment == 0:
                self._fail(_PROTOCOL_ERROR, "a connection WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > _MAX_WINDOW:
                self._fail(_FLOW_CONTROL_ERROR, "the connection's window passed 2^31 - 1")
        else:
            self._check_stream(sid)
            stream = self._streams.get(sid)
            if stream is None:
                return
            stream.window += increment
        self._flush_blocked()

    def _on_goaway(self, sid: int, payload: bytes, out: list[Event]) -> None:
        if sid or len(payload) < 8:
            self._fail(_PROTOCOL_ERROR, "a malformed GOAWAY")
        last, code = _GOAWAY.unpack_from(payload)
        reason = f"GOAWAY {error_name(code)}"
        if len(payload) > 8:
            reason += " " + payload[8:].decode("utf-8", "replace")
        out.append(GoAway(last & _MAX_STREAM_ID, reason))
