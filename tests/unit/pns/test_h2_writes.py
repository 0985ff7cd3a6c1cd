"""When the pool writes: a large batch reaches the socket in slices while it is still being
encoded, so the server starts work before the last request is built; and a connection whose
stream ids run out gets no more requests."""

from __future__ import annotations

import asyncio

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import RequestReceived
from h2.settings import SettingCodes, Settings

from shared.pns.http2 import H2Pool, TransportError, _Connection, _Request
from shared.pns.options import PnsOptions

MAX_STREAMS = SettingCodes.MAX_CONCURRENT_STREAMS


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


class ClosableTransport(RecordingTransport):
    closed = False

    def close(self) -> None:
        self.closed = True


def connected() -> tuple[H2Pool, H2Connection, _Connection, ClosableTransport]:
    """A pool's connection over a recording transport, past the server's SETTINGS, and the
    h2 server at its other end, past the client's preface."""
    pool = H2Pool("http://127.0.0.1:9", PnsOptions())
    server = H2Connection(H2Configuration(client_side=False, header_encoding=None))
    server.local_settings = Settings(client=False, initial_values={MAX_STREAMS: 1000})
    server.initiate_connection()
    transport = ClosableTransport()
    conn = _Connection(pool)
    conn.connection_made(transport)
    conn.data_received(server.data_to_send())  # the server's SETTINGS: streams allowed
    server.receive_data(b"".join(transport.writes))  # the client's preface
    transport.writes.clear()
    return pool, server, conn, transport


async def test_a_batch_is_written_in_slices_before_the_loop_turns() -> None:
    pool, server, conn, transport = connected()

    for n in range(200):
        headers = pool.request_headers(b"/3/device/%064x" % n)
        conn.start(_Request(headers, b"{}", pool.loop.create_future(), deadline=1e9))

    # No await yet: whatever the server holds now was written mid-batch.
    events = server.receive_data(b"".join(transport.writes))
    received = [e for e in events if isinstance(e, RequestReceived)]
    assert len(transport.writes) == 3
    assert len(received) == 192
    await asyncio.sleep(0)  # the loop turn writes the rest
    events = server.receive_data(b"".join(transport.writes[3:]))
    assert len([e for e in events if isinstance(e, RequestReceived)]) == 8


async def test_a_connection_out_of_stream_ids_takes_no_more_and_closes_when_answered() -> None:
    pool, server, conn, transport = connected()
    conn.usable = True
    pool._ready.append(conn)
    conn.core._next_id = 2**31 - 3  # two ids left: 2^31 - 3 and 2^31 - 1
    futures = [pool.submit(pool.request_headers(b"/3/device/%064x" % n), b"{}") for n in range(2)]
    assert conn.core.ids_left == 0
    assert pool._ready == []
    assert not conn.usable
    third = pool.submit(pool.request_headers(b"/3/device/%064x" % 2), b"{}")
    assert len(pool._queue) == 1
    for task in pool._connecting:
        task.cancel()  # nothing listens on port 9; the queued request is not the point here

    await asyncio.sleep(0)
    events = server.receive_data(b"".join(transport.writes))
    ids = [e.stream_id for e in events if isinstance(e, RequestReceived)]
    assert ids == [2**31 - 3, 2**31 - 1]
    server.send_headers(ids[0], [(b":status", b"200")], end_stream=True)
    conn.data_received(server.data_to_send())
    assert futures[0].result().status == 200
    assert not transport.closed
    server.send_headers(ids[1], [(b":status", b"200")], end_stream=True)
    conn.data_received(server.data_to_send())
    assert futures[1].result().status == 200
    assert transport.closed
    assert not third.done()
    await pool.aclose()
    assert isinstance(third.exception(), TransportError)


async def test_answers_before_a_protocol_breach_stand_and_only_the_rest_fail() -> None:
    pool, server, conn, transport = connected()
    requests = [
        _Request(
            pool.request_headers(b"/3/device/%064x" % n), b"{}", pool.loop.create_future(), 1e9
        )
        for n in range(2)
    ]
    for request in requests:
        conn.start(request)
    await asyncio.sleep(0)
    server.receive_data(b"".join(transport.writes))
    server.send_headers(1, [(b":status", b"200")], end_stream=True)
    breach = b"\x00\x00\x01\x01\x05\x00\x00\x00\x02\x88"  # HEADERS on stream 2, never opened
    conn.data_received(server.data_to_send() + breach)
    assert requests[0].future.result().status == 200  # delivered: must not be sent again
    assert isinstance(requests[1].future.exception(), TransportError)
    assert transport.closed
