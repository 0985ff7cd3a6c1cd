"""Client-side helpers for the simulator tests: JWTs, TLS contexts and a raw HTTP/2 exchange."""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from urllib.parse import urlsplit

import httpx
import jwt
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, Event, StreamEnded, StreamReset

from emulator.pns import Credentials, RunningSimulators

PAYLOAD = b'{"aps":{"alert":"hello"}}'


def device_token() -> str:
    return secrets.token_hex(32)


def apns_jwt(creds: Credentials, *, age: float = 0.0, kid: str | None = None) -> str:
    claims = {"iss": creds.apns_team_id, "iat": int(time.time() - age)}
    headers = {"kid": kid or creds.apns_key_id}
    return jwt.encode(claims, creds.apns_private_key, algorithm="ES256", headers=headers)


_JWT_CACHE: dict[str, tuple[float, str]] = {}


def cached_apns_jwt(creds: Credentials) -> str:
    """One provider token per key, as APNs wants (a new one per request gets 429)."""
    minted, token = _JWT_CACHE.get(creds.apns_key_id, (0.0, ""))
    if time.time() - minted > 1800:
        minted, token = time.time(), apns_jwt(creds)
        _JWT_CACHE[creds.apns_key_id] = (minted, token)
    return token


def apns_headers(creds: Credentials, **extra: str) -> dict[str, str]:
    headers = {
        "authorization": f"bearer {cached_apns_jwt(creds)}",
        "apns-topic": creds.apns_topic,
        "apns-push-type": "alert",
    }
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers


def client_context(sims: RunningSimulators, alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=sims.endpoints.ca_file)
    ctx.set_alpn_protocols(alpn)
    return ctx


def h2_client(sims: RunningSimulators, cert: tuple[str, str] | None = None) -> httpx.AsyncClient:
    ctx = client_context(sims, ["h2", "http/1.1"])
    if cert is not None:
        ctx.load_cert_chain(*cert)
    return httpx.AsyncClient(http2=True, verify=ctx, timeout=10.0)


def h1_client(sims: RunningSimulators) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=client_context(sims, ["http/1.1"]), timeout=10.0)


async def h2_exchange(
    sims: RunningSimulators, url: str, headers: dict[str, str], body: bytes
) -> list[Event]:
    """Send one request on a fresh HTTP/2 connection; every frame event until it finishes."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(
        parts.hostname, parts.port, ssl=client_context(sims, ["h2"])
    )
    conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    stream_id = conn.get_next_available_stream_id()
    request = [
        (":method", "POST"),
        (":scheme", "https"),
        (":authority", parts.netloc),
        (":path", parts.path),
        *headers.items(),
    ]
    conn.send_headers(stream_id, request, end_stream=not body)
    if body:
        conn.send_data(stream_id, body, end_stream=True)
    writer.write(conn.data_to_send())
    events: list[Event] = []
    try:
        while not any(
            isinstance(e, StreamEnded | StreamReset | ConnectionTerminated) for e in events
        ):
            data = await asyncio.wait_for(reader.read(65536), 10)
            if not data:
                break
            events.extend(conn.receive_data(data))
            writer.write(conn.data_to_send())
    finally:
        writer.close()
    return events


async def live_token(sims: RunningSimulators) -> str:
    """A WNS access token from the simulator's Package SID flow, its answer checked."""
    creds = sims.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.wns_package_sid,
        "client_secret": creds.wns_client_secret,
        "scope": "notify.windows.com",
    }
    async with h1_client(sims) as client:
        response = await client.post(sims.endpoints.wns_token_uri, data=form)
    body = response.json()
    assert (response.status_code, body["token_type"], body["expires_in"]) == (200, "bearer", 86400)
    token: str = body["access_token"]
    return token
