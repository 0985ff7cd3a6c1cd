"""A small scriptable HTTP/2 TLS server for the APNs/FCM sender tests and the sender benchmark.

Standalone on purpose (stdlib, h2, cryptography) so ``bench/pns_senders.py`` can run it as a
subprocess: ``python pns_h2_server.py --port P --cert C --key K``. In tests it runs in the test's
event loop via :func:`start_server`. Replies come from a ``respond`` callback; faults (GOAWAY
after N requests, a dropped connection, a small SETTINGS_MAX_CONCURRENT_STREAMS) are attributes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import json
import signal
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings

_CONFIG = H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost, as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Herald test CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    leaf = (
        _builder(leaf_name, ca_name, leaf_key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
    )


def server_ssl_context(
    files: TlsFiles, *, h2: bool = True, client_ca: Path | None = None
) -> ssl.SSLContext:
    """TLS for a test server: ALPN h2 (or none, for HTTP/1.1), optionally requiring a client
    certificate issued by ``client_ca``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    if h2:
        context.set_alpn_protocols(["h2"])
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0  # seconds before answering


def apns_ok(request: Request) -> Reply:
    """APNs' success: 200 + apns-id (echoed), END_STREAM on HEADERS, no DATA frame."""
    return Reply(200, (("apns-id", request.headers.get("apns-id") or str(uuid.uuid4())),))


def json_reply(status: int, body: object, *headers: tuple[str, str]) -> Reply:
    return Reply(
        status, (("content-type", "application/json"), *headers), json.dumps(body).encode()
    )


@dataclass
class H2TestServer:
    respond: Callable[[Request], Reply] = apns_ok
    max_streams: int = 1000
    goaway_after: int | None = None  # per connection: GOAWAY after this many requests
    drop_after: int | None = None  # per connection: close the socket at this request
    record: bool = True  # keep every request in ``requests`` (off for benchmarks)
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    peak_streams: int = 0  # most streams seen open at once on one connection


class _ServerProtocol(asyncio.Protocol):
    def __init__(self, server: H2TestServer) -> None:
        self._server = server
        self._conn = H2Connection(config=_CONFIG)
        self._pending: dict[int, tuple[list[tuple[bytes, bytes]], list[bytes]]] = {}
        self._open = 0
        self._seen = 0
        self._closing = False
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections += 1
        self._conn.local_settings = Settings(
            client=False,
            initial_values={SettingCodes.MAX_CONCURRENT_STREAMS: self._server.max_streams},
        )
        self._conn.initiate_connection()
        self._conn.increment_flow_control_window(1 << 30)
        transport.write(self._conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            events = self._conn.receive_data(data)
            for event in events:
                self._on_event(event)
        except ProtocolError:
            self._closing = True
        self._write()
        if self._closing and self._transport is not None:
            self._transport.close()

    def _on_event(self, event: object) -> None:
        if isinstance(event, RequestReceived):
            self._pending[event.stream_id] = (list(event.headers or []), [])  # type: ignore[arg-type]
            self._open += 1
            self._server.peak_streams = max(self._server.peak_streams, self._open)
        elif isinstance(event, DataReceived):
            self._pending[event.stream_id][1].append(event.data or b"")
            self._conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, StreamEnded):
            self._on_request(event.stream_id)
        elif isinstance(event, ConnectionTerminated):
            self._closing = True

    def _on_request(self, sid: int) -> None:
        raw_headers, chunks = self._pending.pop(sid)
        headers = {k.decode(): v.decode() for k, v in raw_headers}
        request = Request(headers.get(":path", ""), headers, b"".join(chunks))
        server = self._server
        if server.record:
            server.requests.append(request)
        self._seen += 1
        if server.drop_after is not None and self._seen >= server.drop_after:
            self._closing = True
            return
        reply = server.respond(request)
        if reply.delay:
            asyncio.get_running_loop().call_later(reply.delay, self._answer_later, sid, reply)
        else:
            self._answer(sid, reply)
        if server.goaway_after is not None and self._seen == server.goaway_after:
            self._conn.close_connection(ErrorCodes.NO_ERROR, b'{"reason":"Shutdown"}', sid)
            self._closing = True

    def _answer_later(self, sid: int, reply: Reply) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._answer(sid, reply)
        except ProtocolError:
            return  # the stream was reset meanwhile (client timeout)
        self._write()

    def _answer(self, sid: int, reply: Reply) -> None:
        self._open -= 1
        headers = [(b":status", str(reply.status).encode())]
        headers += [(k.encode(), v.encode()) for k, v in reply.headers]
        if not reply.body:
            self._conn.send_headers(sid, headers, end_stream=True)
            return
        headers.append((b"content-length", str(len(reply.body)).encode()))
        self._conn.send_headers(sid, headers)
        self._conn.send_data(sid, reply.body, end_stream=True)

    def _write(self) -> None:
        data = self._conn.data_to_send()
        if data and self._transport is not None:
            self._transport.write(data)


async def start_server(
    server: H2TestServer, files: TlsFiles, *, client_ca: Path | None = None
) -> asyncio.Server:
    """Listen on 127.0.0.1 on a free port; the port is ``srv.sockets[0].getsockname()[1]``."""
    loop = asyncio.get_running_loop()
    context = server_ssl_context(files, client_ca=client_ca)
    return await loop.create_server(lambda: _ServerProtocol(server), "127.0.0.1", 0, ssl=context)


async def _main(args: argparse.Namespace) -> None:
    files = TlsFiles(Path(args.ca), Path(args.cert), Path(args.key))
    server = H2TestServer(max_streams=args.max_streams, record=False)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: _ServerProtocol(server), "127.0.0.1", args.port, ssl=server_ssl_context(files)
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    async with srv:
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--max-streams", type=int, default=1000)
    asyncio.run(_main(parser.parse_args()))
