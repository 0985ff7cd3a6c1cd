"""The APNs simulator, driven by aioapns (independent client), httpx and a raw h2 client."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aioapns.connection as aioapns_connection
import httpx
import pytest
from aioapns import APNs, NotificationRequest, PushType
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from h2.events import DataReceived, RemoteSettingsChanged, ResponseReceived, StreamEnded
from h2.settings import SettingCodes
from simulators.simkit import PAYLOAD, apns_headers, apns_jwt, device_token, h2_client, h2_exchange

from emulator.pns import RunningSimulators


@pytest.fixture
async def aioapns_client(sims: RunningSimulators) -> AsyncIterator[APNs]:
    """aioapns pointed at the simulator: its host and port are class attributes. Built inside
    the running loop: aioapns asks for the current one, which a sync fixture may not have."""
    protocol = aioapns_connection.APNsProductionClientProtocol
    saved = protocol.APNS_SERVER, protocol.APNS_PORT
    url = httpx.URL(sims.endpoints.apns)
    assert url.port is not None
    protocol.APNS_SERVER, protocol.APNS_PORT = url.host, url.port
    ctx = ssl.create_default_context(cafile=sims.endpoints.ca_file)
    ctx.set_alpn_protocols(["h2"])
    creds = sims.credentials
    client = APNs(
        key=creds.apns_private_key,
        key_id=creds.apns_key_id,
        team_id=creds.apns_team_id,
        topic=creds.apns_topic,
        ssl_context=ctx,
        max_connection_attempts=1,
    )
    try:
        yield client
    finally:
        client.pool.close()
        protocol.APNS_SERVER, protocol.APNS_PORT = saved


async def test_aioapns_is_accepted_and_recorded(
    sims: RunningSimulators, aioapns_client: APNs
) -> None:
    token = device_token()
    request = NotificationRequest(token, {"aps": {"alert": "hi"}}, push_type=PushType.ALERT)
    result = await aioapns_client.send_notification(request)
    assert result.is_successful
    assert result.notification_id == request.notification_id  # apns-id echoed
    [record] = await sims.control.records("apns", token)
    assert record["payload"] == '{"aps": {"alert": "hi"}}'
    assert record["headers"]["apns-topic"] == sims.credentials.apns_topic
    assert "authorization" not in record["headers"]


async def test_aioapns_sees_bad_and_dead_tokens(
    sims: RunningSimulators, aioapns_client: APNs
) -> None:
    dead = device_token()
    await sims.control.mark_handle("apns", dead, "dead")
    bad = await aioapns_client.send_notification(NotificationRequest("zz" * 32, {"aps": {}}))
    gone = await aioapns_client.send_notification(NotificationRequest(dead, {"aps": {}}))
    assert (bad.status, bad.description) == ("400", "BadDeviceToken")
    assert (gone.status, gone.description) == ("410", "Unregistered")
    assert gone.timestamp is not None
    assert await sims.control.counts("apns") == {}


async def test_success_is_headers_with_end_stream_and_no_data(sims: RunningSimulators) -> None:
    url = f"{sims.endpoints.apns}/3/device/{device_token()}"
    events = await h2_exchange(sims, url, apns_headers(sims.credentials), PAYLOAD)
    response = next(e for e in events if isinstance(e, ResponseReceived))
    headers = {_text(name): _text(value) for name, value in response.headers}
    assert headers[":status"] == "200"
    assert "apns-id" in headers
    assert response.stream_ended is not None
    assert not any(isinstance(e, DataReceived) for e in events)
    assert any(isinstance(e, StreamEnded) for e in events)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _send(
    sims: RunningSimulators, headers: dict[str, str], body: bytes = PAYLOAD, token: str = ""
) -> httpx.Response:
    async with h2_client(sims) as client:
        url = f"{sims.endpoints.apns}/3/device/{token or device_token()}"
        response = await client.post(url, headers=headers, content=body)
    assert response.http_version == "HTTP/2"
    return response


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"authorization": None}, 403, "MissingProviderToken"),
        ({"authorization": "bearer not.a.jwt"}, 403, "InvalidProviderToken"),
        ({"apns-topic": None}, 400, "MissingTopic"),
        ({"apns-topic": "com.herald.demo", "apns-push-type": "voip"}, 400, "BadTopic"),
        ({"apns-push-type": "shout"}, 400, "InvalidPushType"),
        ({"apns-priority": "7"}, 400, "BadPriority"),
        ({"apns-push-type": "background", "apns-priority": "10"}, 400, "BadPriority"),
        ({"apns-expiration": "soon"}, 400, "BadExpirationDate"),
        ({"apns-id": "not-a-uuid"}, 400, "BadMessageId"),
        ({"apns-collapse-id": "c" * 65}, 400, "BadCollapseId"),
    ],
)
async def test_header_checks(
    sims: RunningSimulators, change: dict[str, str | None], status: int, reason: str
) -> None:
    headers = apns_headers(sims.credentials)
    for name, value in change.items():
        headers.pop(name, None)
        if value is not None:
            headers[name] = value
    response = await _send(sims, headers)
    assert (response.status_code, response.json()) == (status, {"reason": reason})


async def test_expired_provider_token(sims: RunningSimulators) -> None:
    headers = apns_headers(sims.credentials)
    headers["authorization"] = f"bearer {apns_jwt(sims.credentials, age=3601)}"
    response = await _send(sims, headers)
    assert (response.status_code, response.json()["reason"]) == (403, "ExpiredProviderToken")


async def test_token_signed_by_another_key_is_invalid(sims: RunningSimulators) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    forged = sims.credentials.__class__(**{**vars_of(sims), "apns_private_key": pem})
    headers = apns_headers(sims.credentials)
    headers["authorization"] = f"bearer {apns_jwt(forged)}"
    response = await _send(sims, headers)
    assert (response.status_code, response.json()["reason"]) == (403, "InvalidProviderToken")


def vars_of(sims: RunningSimulators) -> dict[str, str]:
    creds = sims.credentials
    return {name: getattr(creds, name) for name in creds.__slots__}


async def test_registered_key_limits_topics(sims: RunningSimulators) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    await sims.control.register_apns_key("KEY0000001", "TEAM000001", public.decode(), ["com.a"])
    token = apns_jwt_for(key, "KEY0000001", "TEAM000001")
    allowed = await _send(sims, {"authorization": f"bearer {token}", "apns-topic": "com.a"})
    other = await _send(sims, {"authorization": f"bearer {token}", "apns-topic": "com.b"})
    assert allowed.status_code == 200
    assert (other.status_code, other.json()["reason"]) == (400, "TopicDisallowed")


def apns_jwt_for(key: ec.EllipticCurvePrivateKey, kid: str, team: str) -> str:
    import jwt

    return jwt.encode({"iss": team, "iat": int(time.time())}, key, "ES256", {"kid": kid})


async def test_payload_limits(sims: RunningSimulators) -> None:
    headers = apns_headers(sims.credentials)
    voip = apns_headers(sims.credentials, apns_push_type="voip")
    voip["apns-topic"] = sims.credentials.apns_topic + ".voip"
    big = b'{"aps":{},"x":"' + b"a" * 4100 + b'"}'
    assert (await _send(sims, headers, big)).status_code == 413
    assert (await _send(sims, headers, big)).json() == {"reason": "PayloadTooLarge"}
    assert (await _send(sims, voip, big)).status_code == 200
    assert (await _send(sims, headers, b"")).json() == {"reason": "PayloadEmpty"}


async def test_token_format(sims: RunningSimulators) -> None:
    headers = apns_headers(sims.credentials)
    for token in ("abc", "g" * 64, "ab" * 31):
        response = await _send(sims, headers, token=token)
        assert (response.status_code, response.json()) == (400, {"reason": "BadDeviceToken"})
    longer = await _send(sims, headers, token="AB" * 50)  # longer tokens are fine
    assert longer.status_code == 200
    assert await sims.control.counts("apns") == {"ab" * 50: 1}
    assert await sims.control.delivered_total("apns") == 1  # refused requests are not counted
    await _send(sims, headers, token="AB" * 50)
    assert await sims.control.delivered_total("apns") == 2
    await sims.control.reset_records("apns")
    assert await sims.control.delivered_total("apns") == 0


async def test_dead_token_has_timestamp(sims: RunningSimulators) -> None:
    token = device_token()
    await sims.control.mark_handle("apns", token)
    response = await _send(sims, apns_headers(sims.credentials), token=token)
    body = response.json()
    assert (response.status_code, body["reason"]) == (410, "Unregistered")
    assert abs(body["timestamp"] - time.time() * 1000) < 60_000


async def test_client_certificate_auth(sims: RunningSimulators, tmp_path: Path) -> None:
    issued = await sims.control.issue_apns_certificate("com.cert.app")
    (tmp_path / "c.pem").write_text(issued["cert"])
    (tmp_path / "k.pem").write_text(issued["key"])
    cert = (str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    async with h2_client(sims, cert=cert) as client:
        url = f"{sims.endpoints.apns}/3/device/{device_token()}"
        ok = await client.post(url, headers={"apns-topic": "com.cert.app"}, content=PAYLOAD)
        voip = await client.post(
            url,
            headers={"apns-topic": "com.cert.app.voip", "apns-push-type": "voip"},
            content=PAYLOAD,
        )
        wrong = await client.post(url, headers={"apns-topic": "com.other"}, content=PAYLOAD)
    assert (ok.status_code, voip.status_code) == (200, 200)
    assert (wrong.status_code, wrong.json()["reason"]) == (400, "TopicDisallowed")


async def test_new_provider_token_within_20_minutes_is_refused(sims: RunningSimulators) -> None:
    url = f"{sims.endpoints.apns}/3/device/{device_token()}"
    headers = apns_headers(sims.credentials)
    async with h2_client(sims) as client:
        first = await client.post(url, headers=headers, content=PAYLOAD)
        headers["authorization"] = f"bearer {apns_jwt(sims.credentials, age=-1)}"
        second = await client.post(url, headers=headers, content=PAYLOAD)
    assert first.status_code == 200
    assert (second.status_code, second.json()["reason"]) == (429, "TooManyProviderTokenUpdates")


async def test_advertises_max_concurrent_streams(sims: RunningSimulators) -> None:
    url = f"{sims.endpoints.apns}/3/device/{device_token()}"
    events = await h2_exchange(sims, url, apns_headers(sims.credentials), PAYLOAD)
    [settings] = [e for e in events if isinstance(e, RemoteSettingsChanged)]
    assert settings.changed_settings[SettingCodes.MAX_CONCURRENT_STREAMS].new_value == 1000
