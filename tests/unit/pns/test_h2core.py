"""The sans-IO HTTP/2 core: HPACK, flow control and a hostile server, mostly against an h2 server
peer and hpack's decoder, both independent of the core."""

from __future__ import annotations

import tracemalloc

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, RequestReceived, StreamEnded
from h2.settings import SettingCodes, Settings
from hpack import Decoder, NeverIndexedHeaderTuple
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.pns._h2core import (
    MAX_RESPONSE_BYTES,
    ClientCore,
    GoAway,
    H2Failure,
    Response,
    StreamDone,
)
from shared.pns._hpack import HeaderEncoder, path_header

MAX_STREAMS = SettingCodes.MAX_CONCURRENT_STREAMS
INITIAL_WINDOW = SettingCodes.INITIAL_WINDOW_SIZE

JWT = b"bearer " + b"eyJhbGciOiJFUzI1NiIsImtpZCI6IktFWSJ9." * 4


def request(core: ClientCore, token: int, body: bytes = b"{}") -> bytes:
    headers = [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":authority", b"api.push.apple.com"),
        path_header(b"/3/device/%064x" % token),
        (b"authorization", JWT),
        (b"apns-topic", b"com.example.app"),
    ]
    core.request(headers, body)
    return core.data_to_send()


def peer() -> H2Connection:
    server = H2Connection(H2Configuration(client_side=False, header_encoding=None))
    server.initiate_connection()
    return server


def test_authorization_is_indexed_and_the_path_is_not() -> None:
    core, server = ClientCore(), peer()
    core.start()
    server.receive_data(core.data_to_send())
    first = request(core, 1)
    second = request(core, 2)
    # The second header block repeats the JWT and topic as one-byte index references.
    assert len(second) < len(first) - len(JWT)
    events = server.receive_data(first + second)
    got = [dict(e.headers) for e in events if isinstance(e, RequestReceived)]
    assert [g[b"authorization"] for g in got] == [JWT, JWT]
    assert [g[b":path"] for g in got] == [b"/3/device/%064x" % n for n in (1, 2)]
    paths_in_table = [
        v for _, v in server.decoder.header_table.dynamic_entries if b"/3/device" in v
    ]
    assert paths_in_table == []


def test_bodies_wait_for_the_send_window_and_responses_come_back() -> None:
    core, server = ClientCore(), peer()
    core.start()
    server.receive_data(core.data_to_send())
    core.receive(server.data_to_send())
    body = b"x" * 70_000  # more than the default 65,535-byte connection window
    events = server.receive_data(request(core, 1, body))
    received = sum(len(e.data or b"") for e in events if isinstance(e, DataReceived))
    assert received < len(body)
    server.acknowledge_received_data(received, 1)
    assert core.receive(server.data_to_send()) == []  # WINDOW_UPDATE: the rest goes out
    events = server.receive_data(core.data_to_send())
    received += sum(len(e.data or b"") for e in events if isinstance(e, DataReceived))
    assert received == len(body)
    assert any(isinstance(e, StreamEnded) for e in events)
    server.send_headers(1, [(b":status", b"200"), (b"apns-id", b"x")], end_stream=True)
    done = core.receive(server.data_to_send())
    assert done == [StreamDone(1, Response(200, [(b":status", b"200"), (b"apns-id", b"x")], b""))]
    assert core.active == 0


def _exchange(core: ClientCore, server: H2Connection, first: int, count: int) -> None:
    """``count`` requests, each answered, in rounds of 100 streams."""
    for start in range(first, first + count, 100):
        wire = b"".join(request(core, n) for n in range(start, start + 100))
        for event in server.receive_data(wire):
            if isinstance(event, RequestReceived):
                server.send_headers(event.stream_id, [(b":status", b"200")], end_stream=True)
        done = core.receive(server.data_to_send())
        assert len(done) == 100


class _ForgetfulServer(H2Connection):
    MAX_CLOSED_STREAMS = 16  # so that only the client's memory shows


def test_a_long_lived_connection_does_not_grow_with_the_streams_it_has_carried() -> None:
    core = ClientCore()
    server = _ForgetfulServer(H2Configuration(client_side=False, header_encoding=None))
    server.initiate_connection()
    core.start()
    server.receive_data(core.data_to_send())
    core.receive(server.data_to_send())
    tracemalloc.start()  # before the warm-up, so that what the bound evicts later is traced too
    try:
        _exchange(core, server, 0, 4_500)  # past the bound on remembered closed streams
        before = tracemalloc.take_snapshot()
        _exchange(core, server, 4_500, 5_000)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    mine = [tracemalloc.Filter(True, "*/h2/*"), tracemalloc.Filter(True, "*/_h2core.py")]
    # Blocks rather than bytes: a bounded dict's table size swings as it evicts and inserts.
    grown = sum(
        stat.count_diff
        for stat in after.filter_traces(mine).compare_to(before.filter_traces(mine), "filename")
    )
    assert grown < 500  # h2 alone would keep two blocks for each of the 5,000 closed streams


# -- HPACK: what the encoder writes, a standard decoder reads back ------------------------------

_names = st.sampled_from([b":path", b"authorization", b"apns-topic", b"apns-id", b"x-long"])
_values = st.binary(min_size=0, max_size=300)


@st.composite
def _header_lists(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    fields = draw(st.lists(st.tuples(_names, _values), min_size=1, max_size=12))
    return [NeverIndexedHeaderTuple(n, v) if draw(st.booleans()) else (n, v) for n, v in fields]


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(
        st.tuples(_header_lists(), st.lists(st.integers(0, 5000), max_size=2)),
        min_size=1,
        max_size=25,
    )
)
def test_every_header_block_decodes_to_what_was_encoded(
    blocks: list[tuple[list[tuple[bytes, bytes]], list[int]]],
) -> None:
    """Repeats, evictions and table resizes (two between blocks too) included: the dynamic
    table never drifts."""
    encoder, decoder = HeaderEncoder(), Decoder()
    for headers, resizes in blocks:
        for size in resizes:
            encoder.resize(size)
            decoder.max_allowed_table_size = min(size, 4096)
        got = decoder.decode(encoder.encode(headers), raw=True)
        assert [tuple(h) for h in got] == [tuple(h) for h in headers]


def test_a_repeated_field_costs_one_byte() -> None:
    encoder = HeaderEncoder()
    fields = [(b"authorization", JWT), (b"apns-topic", b"com.example.app")]
    encoder.encode(fields)
    assert len(encoder.encode(fields)) == 2


# -- what a hostile or broken server can do ---------------------------------------------------


def frame(kind: int, flags: int, sid: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + sid.to_bytes(4, "big") + payload


def connected() -> tuple[ClientCore, H2Connection]:
    core, server = ClientCore(), peer()
    core.start()
    server.receive_data(core.data_to_send())
    core.receive(server.data_to_send())
    server.receive_data(core.data_to_send())  # the client's SETTINGS ACK
    return core, server


@given(wire=st.binary(max_size=400), cut=st.integers(0, 400))
def test_any_bytes_from_the_server_end_in_events_or_h2failure(wire: bytes, cut: int) -> None:
    core, _ = connected()
    request(core, 1)
    try:
        core.receive(wire[:cut])
        core.receive(wire[cut:])
    except H2Failure:
        pass


@given(cuts=st.lists(st.integers(1, 60), max_size=30))
def test_answers_are_the_same_however_the_bytes_are_cut(cuts: list[int]) -> None:
    core, server = connected()
    for n in range(3):
        server.receive_data(request(core, n, b'{"aps":{}}'))
    server.send_headers(1, [(b":status", b"200"), (b"apns-id", b"a")], end_stream=True)
    server.send_headers(3, [(b":status", b"400")])
    server.send_data(3, b'{"reason":"BadDeviceToken"}', end_stream=True)
    server.reset_stream(5)
    wire = server.data_to_send()
    events, start = [], 0
    for size in [*cuts, len(wire)]:
        events += core.receive(wire[start : start + size])
        start += size
    assert events == [
        StreamDone(1, Response(200, [(b":status", b"200"), (b"apns-id", b"a")], b"")),
        StreamDone(3, Response(400, [(b":status", b"400")], b'{"reason":"BadDeviceToken"}')),
        StreamDone(5, None, "stream reset by the server (NO_ERROR)"),
    ]
    assert core.active == 0


@pytest.mark.parametrize(
    "wire",
    [
        frame(0x1, 0x5, 2, b"\x88"),  # HEADERS on a stream the server may not open
        frame(0x1, 0x5, 7, b"\x88"),  # ... or on one never opened
        frame(0x0, 0x1, 0, b"x"),  # DATA on the connection
        frame(0x5, 0x4, 1, b"\x00\x00\x00\x02\x88"),  # PUSH_PROMISE, with push disabled
        frame(0x1, 0x0, 1, b"\x88") + frame(0x0, 0x1, 1, b""),  # a header block cut into
        frame(0x9, 0x4, 1, b"\x88"),  # CONTINUATION with no header block
        frame(0x0, 0x0, 1, b"x" * 16385),  # larger than the frame size it may send
        frame(0x4, 0x0, 0, b"\x00\x04\x80\x00\x00\x00"),  # an initial window over 2^31 - 1
        frame(0x4, 0x0, 0, b"\x00\x05\x00\x00\x10\x00"),  # a frame size under 16,384
        frame(0x4, 0x0, 0, b"\x00\x04"),  # SETTINGS of the wrong length
        frame(0x8, 0x0, 0, b"\x00\x00\x00\x00"),  # WINDOW_UPDATE of 0 on the connection
        frame(0x8, 0x0, 0, b"\x7f\xff\xff\xff"),  # the window past 2^31 - 1
        frame(0x6, 0x0, 0, b"1234"),  # PING of the wrong length
        frame(0x1, 0x5, 1, b"\xff\xff\xff\xff\xff"),  # HPACK that does not decode
    ],
)
def test_a_protocol_breach_fails_the_connection_with_a_goaway(wire: bytes) -> None:
    core, _ = connected()
    request(core, 1)
    with pytest.raises(H2Failure):
        core.receive(wire)
    assert frame(0x7, 0, 0, b"")[3] in core.data_to_send()  # a GOAWAY frame went out


def test_pings_are_answered_and_goaway_names_its_reason() -> None:
    core, server = connected()
    server.ping(b"12345678")
    assert core.receive(server.data_to_send()) == []
    answered = server.receive_data(core.data_to_send())
    assert [type(e).__name__ for e in answered] == ["PingAckReceived"]
    server.close_connection(error_code=11, additional_data=b"calm down", last_stream_id=0)
    events = core.receive(server.data_to_send())
    assert events == [GoAway(0, "GOAWAY ENHANCE_YOUR_CALM calm down")]


def test_an_oversized_answer_fails_only_its_own_stream() -> None:
    core, server = connected()
    server.local_settings = Settings(client=False, initial_values={MAX_STREAMS: 10})
    server.receive_data(request(core, 1) + request(core, 2))
    server.send_headers(1, [(b":status", b"500")])
    chunk = b"x" * 16384
    done = []
    for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 1):
        server.send_data(1, chunk)
        done += core.receive(server.data_to_send())
    assert done == [StreamDone(1, None, f"an answer over {MAX_RESPONSE_BYTES} bytes")]
    server.send_headers(3, [(b":status", b"200")], end_stream=True)
    assert core.receive(server.data_to_send()) == [
        StreamDone(3, Response(200, [(b":status", b"200")], b""))
    ]


def test_a_smaller_initial_window_holds_bodies_until_the_server_grants_more() -> None:
    core = ClientCore()
    server = H2Connection(H2Configuration(client_side=False, header_encoding=None))
    server.local_settings = Settings(client=False, initial_values={INITIAL_WINDOW: 10})
    server.initiate_connection()
    core.start()
    server.receive_data(core.data_to_send())
    core.receive(server.data_to_send())
    events = server.receive_data(request(core, 1, b"0123456789abcdef"))
    assert b"".join(e.data for e in events if isinstance(e, DataReceived)) == b"0123456789"
    server.increment_flow_control_window(6, stream_id=1)
    core.receive(server.data_to_send())
    events = server.receive_data(core.data_to_send())
    assert b"".join(e.data for e in events if isinstance(e, DataReceived)) == b"abcdef"
    assert any(isinstance(e, StreamEnded) for e in events)


def test_a_header_block_larger_than_a_frame_goes_out_in_continuations() -> None:
    core, server = connected()
    big = b"bearer " + b"x" * 40_000
    core.request(
        [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", b"a"),
            path_header(b"/3/device/00"),
            (b"authorization", big),
        ],
        b"",
    )
    events = server.receive_data(core.data_to_send())
    received = [e for e in events if isinstance(e, RequestReceived)]
    assert dict(received[0].headers)[b"authorization"] == big


def test_the_servers_stream_limit_is_kept_even_at_zero_and_none_means_unlimited() -> None:
    core = ClientCore()
    core.start()
    core.receive(frame(0x4, 0x0, 0, b""))  # a first SETTINGS without a limit: unlimited
    assert core.max_streams == 1 << 16
    core.receive(frame(0x4, 0x0, 0, b"\x00\x03\x00\x00\x00\x00"))  # then none at all
    assert core.capacity == 0
    core.receive(frame(0x4, 0x0, 0, b"\x00\x01\x00\x00\x00\x00"))  # a later one, silent on it
    assert core.max_streams == 0
