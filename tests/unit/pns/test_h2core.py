"""The sans-IO HTTP/2 core: HPACK choices and flow control, checked by an h2 server peer."""

from __future__ import annotations

import tracemalloc

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, RequestReceived, StreamEnded

from shared.pns._h2core import ClientCore, Response, StreamDone, path_header

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
