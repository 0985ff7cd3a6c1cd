"""The HTTP/2 pool over real sockets: reuse, growth, GOAWAY, drops, timeouts, TLS trust."""

from __future__ import annotations

import json
from dataclasses import replace

from integration.pns.conftest import H2Factory
from integration.pns.pns_h2_server import H2TestServer, apns_ok
from unit.pns.keys import ec_pem

from emulator.pns._http import Reply, Request
from shared.pns.apns import ApnsCredentials, ApnsSender
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

K = OutcomeKind
ALERT = json.dumps({"aps": {"alert": "hello"}}).encode()


def apns(origin: str, options: PnsOptions) -> ApnsSender:
    creds = ApnsCredentials(
        bundle_id="com.example.app",
        endpoint=origin,
        key_id="KEY1234567",
        team_id="TEAM123456",
        signing_key=ec_pem(),
    )
    return ApnsSender(creds, options)


def batch(count: int, start: int = 0) -> list[PushMessage]:
    return [PushMessage(f"{i:064x}", ALERT) for i in range(start, start + count)]


async def test_one_connection_carries_many_sends(h2_server: H2Factory, options: PnsOptions) -> None:
    server = H2TestServer()
    async with h2_server(server) as origin:
        sender = apns(origin, options)
        for round_ in range(5):
            outcomes = await sender.send(batch(100, round_ * 100))
            assert {o.kind for o in outcomes} == {K.DELIVERED}
        await sender.aclose()
    assert server.connections == 1
    assert len(server.requests) == 500


async def test_pool_grows_when_the_server_allows_few_streams(
    h2_server: H2Factory, options: PnsOptions
) -> None:
    server = H2TestServer(max_streams=2, respond=lambda r: replace(apns_ok(r), delay=0.05))
    async with h2_server(server) as origin:
        sender = apns(origin, replace(options, max_connections=3))
        outcomes = await sender.send(batch(24))
        await sender.aclose()
    assert [o.kind for o in outcomes] == [K.DELIVERED] * 24
    assert server.connections == 3
    assert server.peak_streams <= 2


async def test_goaway_reports_unprocessed_streams_transient_then_reconnects(
    h2_server: H2Factory, options: PnsOptions
) -> None:
    server = H2TestServer(goaway_after=3)
    async with h2_server(server) as origin:
        sender = apns(origin, options)
        outcomes = await sender.send(batch(10))
        assert [o.kind for o in outcomes[:3]] == [K.DELIVERED] * 3
        assert {o.kind for o in outcomes[3:]} == {K.TRANSIENT}
        assert all(o.status is None and "GOAWAY" in o.reason for o in outcomes[3:])
        assert "Shutdown" in outcomes[3].reason
        server.goaway_after = None
        again = await sender.send(batch(5))
        await sender.aclose()
    assert {o.kind for o in again} == {K.DELIVERED}
    assert server.connections == 2


async def test_a_dropped_connection_fails_its_streams_and_is_replaced(
    h2_server: H2Factory, options: PnsOptions
) -> None:
    server = H2TestServer(drop_after=1)
    async with h2_server(server) as origin:
        sender = apns(origin, options)
        dropped = await sender.send(batch(1))
        server.drop_after = None
        later = await sender.send(batch(1))
        await sender.aclose()
    assert dropped[0].kind is K.TRANSIENT
    assert dropped[0].status is None
    assert later[0].kind is K.DELIVERED
    assert server.connections == 2


async def test_requests_time_out_individually(h2_server: H2Factory, options: PnsOptions) -> None:
    slow = {f"{1:064x}"}

    def respond(request: Request) -> Reply:
        reply = apns_ok(request)
        return replace(reply, delay=30.0) if request.path.rsplit("/", 1)[1] in slow else reply

    server = H2TestServer(respond=respond)
    async with h2_server(server) as origin:
        sender = apns(origin, replace(options, request_timeout=0.3))
        outcomes = await sender.send(batch(3))
        await sender.aclose()
    assert [o.kind for o in outcomes] == [K.DELIVERED, K.TRANSIENT, K.DELIVERED]
    assert "no answer within 0.3 s" in outcomes[1].reason


async def test_an_untrusted_server_is_a_transient_failure(h2_server: H2Factory) -> None:
    async with h2_server(H2TestServer()) as origin:
        sender = apns(origin, PnsOptions(request_timeout=5.0))  # no test CA
        outcomes = await sender.send(batch(2))
        await sender.aclose()
    assert {o.kind for o in outcomes} == {K.TRANSIENT}
    assert "cannot connect" in outcomes[0].reason
