"""The APNs sender against an h2 TLS server: what goes on the wire, and what comes back."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from integration.pns.conftest import H2Factory
from integration.pns.pns_h2_server import H2TestServer, apns_ok
from unit.pns.keys import ec_key, ec_pem

from emulator.pns._http import Reply, Request, json_reply
from shared.pns.apns import ApnsCredentials, ApnsSender
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

K = OutcomeKind
TOKEN = "AB" * 32


def token_sender(origin: str, options: PnsOptions) -> ApnsSender:
    data = {"bundle_id": "com.example.app", "endpoint": origin, "key_id": "KEY1234567"}
    creds = ApnsCredentials.from_dict(data | {"team_id": "TEAM123456", "signing_key": ec_pem()})
    return ApnsSender(creds, options)


async def test_request_headers_follow_apples_rules(
    h2_server: H2Factory, options: PnsOptions
) -> None:
    server = H2TestServer()
    messages = [
        PushMessage(TOKEN, b'{"aps":{"alert":"hi"}}'),
        PushMessage(TOKEN, b'{"aps":{"content-available":1}}'),
        PushMessage(TOKEN, b'{"aps":{}}', {"apns-push-type": "voip", "apns-expiration": "0"}),
        PushMessage(
            TOKEN,
            b'{"aps":{"alert":"x"}}',
            {"APNS-Topic": "com.other", "apns-priority": "5", "apns-collapse-id": "c1"},
        ),
    ]
    async with h2_server(server) as origin:
        sender = token_sender(origin, options)
        outcomes = await sender.send(messages)
        await sender.aclose()
    assert [o.kind for o in outcomes] == [K.DELIVERED] * 4
    by_body = {r.body: r.headers for r in server.requests}
    alert = by_body[b'{"aps":{"alert":"hi"}}']
    assert alert[":path"] == f"/3/device/{TOKEN.lower()}"
    assert alert[":method"] == "POST"
    assert (alert["apns-topic"], alert["apns-push-type"], alert["apns-priority"]) == (
        "com.example.app",
        "alert",
        "10",
    )
    background = by_body[b'{"aps":{"content-available":1}}']
    assert (background["apns-push-type"], background["apns-priority"]) == ("background", "5")
    voip = by_body[b'{"aps":{}}']
    assert (voip["apns-topic"], voip["apns-expiration"]) == ("com.example.app.voip", "0")
    other = by_body[b'{"aps":{"alert":"x"}}']
    assert (other["apns-topic"], other["apns-priority"], other["apns-collapse-id"]) == (
        "com.other",
        "5",
        "c1",
    )
    bearer = alert["authorization"].removeprefix("bearer ")
    assert jwt.get_unverified_header(bearer)["kid"] == "KEY1234567"
    claims = jwt.decode(bearer, ec_key().public_key(), algorithms=["ES256"])
    assert claims["iss"] == "TEAM123456"
    assert {r.headers["authorization"] for r in server.requests} == {alert["authorization"]}


async def test_errors_come_back_per_handle(h2_server: H2Factory, options: PnsOptions) -> None:
    answers = {
        "0" * 64: json_reply(410, {"reason": "Unregistered", "timestamp": 1700000000000}),
        "1" * 64: json_reply(400, {"reason": "BadDeviceToken"}),
        "2" * 64: json_reply(429, {"reason": "TooManyRequests"}),
    }

    def respond(request: Request) -> Reply:
        return answers.get(request.path.rsplit("/", 1)[1]) or apns_ok(request)

    async with h2_server(H2TestServer(respond=respond)) as origin:
        sender = token_sender(origin, options)
        handles = ["0" * 64, "1" * 64, "2" * 64, "3" * 64]
        outcomes = await sender.send([PushMessage(h, b'{"aps":{"alert":"x"}}') for h in handles])
        await sender.aclose()
    assert [(o.handle, o.kind, o.status) for o in outcomes] == [
        ("0" * 64, K.EXPIRED_HANDLE, 410),
        ("1" * 64, K.INVALID_HANDLE, 400),
        ("2" * 64, K.THROTTLED, 429),
        ("3" * 64, K.DELIVERED, 200),
    ]
    assert outcomes[0].reason == "Unregistered: timestamp 1700000000000"


def client_certificate(folder: Path) -> tuple[Path, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.app")]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "client-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


@pytest.mark.parametrize("form", ["pem", "pkcs12"])
async def test_certificate_auth_presents_the_client_certificate(
    h2_server: H2Factory, options: PnsOptions, tmp_path: Path, form: str
) -> None:
    trusted, cert, key = client_certificate(tmp_path)
    if form == "pem":
        certificate = (
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ).decode()
        password = None
    else:
        password = "pw"
        bundle = pkcs12.serialize_key_and_certificates(
            b"apns", key, cert, None, serialization.BestAvailableEncryption(b"pw")
        )
        certificate = base64.b64encode(bundle).decode()
    server = H2TestServer()
    async with h2_server(server, trusted) as origin:
        creds = ApnsCredentials.from_dict(
            {"bundle_id": "com.example.app", "endpoint": origin, "certificate": certificate}
            | ({"certificate_password": password} if password else {})
        )
        sender = ApnsSender(creds, options)
        outcomes = await sender.send([PushMessage(TOKEN, b'{"aps":{"alert":"x"}}')])
        await sender.aclose()
    assert outcomes[0].kind is K.DELIVERED
    assert "authorization" not in server.requests[0].headers
    assert "***" in repr(creds)


async def test_a_client_without_the_certificate_is_refused(
    h2_server: H2Factory, options: PnsOptions, tmp_path: Path
) -> None:
    trusted, _, _ = client_certificate(tmp_path)
    async with h2_server(H2TestServer(), trusted) as origin:
        sender = token_sender(origin, options)
        outcomes = await sender.send([PushMessage(TOKEN, b'{"aps":{"alert":"x"}}')])
        await sender.aclose()
    assert (outcomes[0].kind, outcomes[0].status) == (K.TRANSIENT, None)
