"""A scriptable HTTP/2 TLS server for the APNs and FCM sender tests.

It serves a ``respond`` callback through the simulators' own h2 adapter (emulator/pns/_h2.py).
Faults are attributes a test may change between sends: GOAWAY after N requests, a dropped
connection, a small SETTINGS_MAX_CONCURRENT_STREAMS; ``respond`` may delay any reply.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from emulator.pns._h2 import H2Counters, H2ServerProtocol
from emulator.pns._http import Action, Reply, Request
from emulator.pns.certs import CertPaths, server_context

_SEEN = "h2-test-requests"  # per-connection request count, kept in Connection.state
_DROP = Reply(0, action=Action.DROP)
_GOAWAY = Reply(0, action=Action.GOAWAY, goaway_reason=b'{"reason":"Shutdown"}')


def apns_ok(request: Request) -> Reply:
    """APNs' success: 200 + apns-id (echoed), END_STREAM on HEADERS, no DATA frame."""
    return Reply(200, (("apns-id", request.headers.get("apns-id") or str(uuid.uuid4())),))


@dataclass
class H2TestServer(H2Counters):
    """The script and the record of one test server; ``connections`` and ``peak_streams`` are
    counted by the adapter."""

    respond: Callable[[Request], Reply] = apns_ok
    max_streams: int = 1000
    goaway_after: int | None = None  # per connection: answer this many, then GOAWAY the rest
    drop_after: int | None = None  # per connection: drop the connection at this request
    requests: list[Request] = field(default_factory=list)

    def __call__(self, request: Request) -> Reply:
        request = _with_pseudo_headers(request)
        self.requests.append(request)
        seen = request.conn.state.get(_SEEN, 0) + 1
        request.conn.state[_SEEN] = seen
        if self.drop_after is not None and seen >= self.drop_after:
            return _DROP
        if self.goaway_after is not None and seen > self.goaway_after:
            return _GOAWAY
        return self.respond(request)


def _with_pseudo_headers(request: Request) -> Request:
    # The adapter keeps :method and :path out of the headers; the tests check them there.
    target = f"{request.path}?{request.query}" if request.query else request.path
    headers = {":method": request.method, ":path": target, **request.headers}
    return replace(request, headers=headers)


async def start_server(
    server: H2TestServer, certs: CertPaths, *, client_ca: Path | None = None
) -> asyncio.Server:
    """Listen on 127.0.0.1 on a free port (``srv.sockets[0].getsockname()[1]``); with
    ``client_ca``, only clients presenting a certificate it issued get through."""
    context = server_context(certs, ["h2"])
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return await asyncio.get_running_loop().create_server(
        lambda: H2ServerProtocol(server, server.max_streams, counters=server),
        "127.0.0.1",
        0,
        ssl=context,
    )
