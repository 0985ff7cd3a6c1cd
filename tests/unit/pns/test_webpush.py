"""Web Push: RFC 8291 encryption (Appendix A vector, http_ece as oracle), VAPID, the table."""

from __future__ import annotations

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from unit.pns.keys import FakeClock, answer, ec_key

from shared.errors import BadRequestError
from shared.pns._webpush_crypto import (
    MAX_PLAINTEXT,
    VapidSigner,
    b64url,
    b64url_decode,
    encrypt,
    origin,
    public_bytes,
)
from shared.pns.base import OutcomeKind, PushMessage, WebPushKeys
from shared.pns.options import PnsOptions
from shared.pns.webpush import WebPushCredentials, WebPushSender

K = OutcomeKind
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"

# RFC 8291 Appendix A.
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
PLAINTEXT = b"When I grow up, I want to be a watermelon"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS"
    "6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qul"
    "cy4a-fN"
)


def key(b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(b64), "big"), ec.SECP256R1())


def test_rfc8291_appendix_a_vector() -> None:
    ua_public = public_bytes(key(UA_PRIVATE))
    body = encrypt(
        PLAINTEXT,
        ua_public,
        b64url_decode(AUTH),
        salt=b64url_decode(SALT),
        private_key=key(AS_PRIVATE),
    )
    assert b64url(body) == BODY


@pytest.mark.parametrize("size", [0, 1, 100, MAX_PLAINTEXT])
def test_http_ece_decrypts_what_we_encrypt(size: int) -> None:
    receiver = ec.generate_private_key(ec.SECP256R1())
    auth = b"0123456789abcdef"
    plaintext = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    body = encrypt(plaintext, public_bytes(receiver), auth)
    assert len(body) <= 4096
    assert http_ece.decrypt(body, private_key=receiver, auth_secret=auth, version="aes128gcm") == (
        plaintext
    )


def test_plaintext_over_one_record_is_refused() -> None:
    with pytest.raises(ValueError, match="limit 3993"):
        encrypt(b"x" * (MAX_PLAINTEXT + 1), public_bytes(ec_key()), b"0" * 16)


def test_vapid_claims_and_caching_per_audience() -> None:
    clock = FakeClock()
    signer = VapidSigner(ec_key(), "mailto:ops@example.com", clock)
    header = signer.authorization(ENDPOINT)
    token, k = header.removeprefix("vapid t=").split(", k=")
    assert k == b64url(public_bytes(ec_key()))
    claims = jwt.decode(
        token,
        ec_key().public_key(),
        algorithms=["ES256"],
        audience="https://fcm.googleapis.com",
        options={"verify_exp": False},  # the fake clock is in the past
    )
    assert claims["sub"] == "mailto:ops@example.com"
    assert claims["exp"] == int(clock.now) + 12 * 3600
    assert jwt.get_unverified_header(token)["typ"] == "JWT"
    clock.now += 10 * 3600
    assert signer.authorization(ENDPOINT + "/other") == header  # same origin, still fresh
    other = signer.authorization("https://updates.push.services.mozilla.com/wpush/v2/x")
    assert other != header
    clock.now += 3600 + 1  # within an hour of exp: renewed
    renewed = signer.authorization(ENDPOINT)
    assert renewed != header
    new_claims = jwt.decode(
        renewed.split(", k=")[0].removeprefix("vapid t="),
        ec_key().public_key(),
        algorithms=["ES256"],
        audience="https://fcm.googleapis.com",
        options={"verify_exp": False},
    )
    assert new_claims["exp"] - clock.now <= 24 * 3600


@pytest.mark.parametrize(
    ("url", "audience"),
    [
        ("https://fcm.googleapis.com/fcm/send/x", "https://fcm.googleapis.com"),
        ("https://fcm.googleapis.com:443/x", "https://fcm.googleapis.com"),
        ("http://127.0.0.1:8080/push/1", "http://127.0.0.1:8080"),
    ],
)
def test_vapid_audience_is_the_endpoint_origin(url: str, audience: str) -> None:
    assert origin(url) == audience


def sender() -> WebPushSender:
    creds = WebPushCredentials.from_dict(
        {"subject": "mailto:ops@example.com", "private_key": b64url(_scalar())}
    )
    return WebPushSender(creds, PnsOptions())


def _scalar() -> bytes:
    return ec_key().private_numbers().private_value.to_bytes(32, "big")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b"", K.DELIVERED),
        (201, b"", K.DELIVERED),
        (202, b"", K.DELIVERED),
        (400, b'{"reason": "BadTtl"}', K.PAYLOAD_REJECTED),
        (401, b'{"code": 401, "errno": 109, "message": "Unauthorized"}', K.CREDENTIALS_REJECTED),
        (403, b'{"reason": "VapidPkHashMismatch"}', K.INVALID_HANDLE),
        (403, b'{"reason": "BadJwtToken"}', K.CREDENTIALS_REJECTED),
        (403, b"invalid JWT provided", K.CREDENTIALS_REJECTED),
        (404, b'{"code": 404, "errno": 102}', K.EXPIRED_HANDLE),
        (410, b'{"code": 410, "errno": 103}', K.EXPIRED_HANDLE),
        (413, b'{"reason": "PayloadTooLarge"}', K.PAYLOAD_REJECTED),
        (429, b'{"reason": "TooManyRequests"}', K.THROTTLED),
        (500, b"", K.TRANSIENT),
        (502, b'{"errno": 900}', K.TRANSIENT),
        (503, b'{"errno": 201}', K.TRANSIENT),
        (302, b"", K.PAYLOAD_REJECTED),
    ],
)
def test_every_answer_maps_to_one_outcome(status: int, body: bytes, kind: OutcomeKind) -> None:
    response = answer(status, body=body, headers={"Location": "https://x.example/"})
    outcome = sender()._outcome(ENDPOINT, response)
    assert (outcome.kind, outcome.handle, outcome.status) == (kind, ENDPOINT, status)


def test_throttling_reports_retry_after() -> None:
    response = answer(429, headers={"Retry-After": "30"})
    assert sender()._outcome(ENDPOINT, response).retry_after == 30.0


async def test_local_rejections() -> None:
    keys = WebPushKeys(b64url(public_bytes(ec_key())), b64url(b"0" * 16))
    web = sender()
    messages = [
        PushMessage("https://evil.example/push", b"hi", web_push_keys=keys),
        PushMessage(ENDPOINT, b"hi"),
        PushMessage(ENDPOINT, b"x" * (MAX_PLAINTEXT + 1), web_push_keys=keys),
        PushMessage(ENDPOINT, b"hi", {"TTL": "soon"}, web_push_keys=keys),
        PushMessage(ENDPOINT, b"hi", {"Urgency": "asap"}, web_push_keys=keys),
        PushMessage(ENDPOINT, b"hi", {"Topic": "has spaces"}, web_push_keys=keys),
        PushMessage(ENDPOINT, b"hi", web_push_keys=WebPushKeys("AAAA", "AAAA")),
    ]
    outcomes = await web.send(messages)
    await web.aclose()
    assert [o.kind for o in outcomes] == [K.INVALID_HANDLE] * 2 + [K.PAYLOAD_REJECTED] * 4 + [
        K.INVALID_HANDLE
    ]
    assert all(
        o.status is None and o.handle == m.handle for o, m in zip(outcomes, messages, strict=True)
    )


def test_credentials() -> None:
    public = b64url(public_bytes(ec_key()))
    creds = WebPushCredentials.from_dict(
        {"subject": "https://example.com", "private_key": b64url(_scalar()), "public_key": public}
    )
    assert "***" in repr(creds)
    assert b64url(_scalar()) not in repr(creds)
    with pytest.raises(BadRequestError, match="does not belong"):
        WebPushCredentials.from_dict(
            creds.to_dict()
            | {"public_key": b64url(public_bytes(ec.generate_private_key(ec.SECP256R1())))}
        )
    with pytest.raises(BadRequestError, match="subject"):
        WebPushCredentials.from_dict(creds.to_dict() | {"subject": "ops@example.com"})
