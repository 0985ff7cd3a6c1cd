"""The Web Push simulator: pywebpush encrypts, the simulator decrypts; VAPID and header checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import http_ece
import httpx
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]
from pywebpush import webpush
from simulators.simkit import h1_client

from emulator.pns import RunningSimulators
from emulator.pns._ece import EceError, decrypt
from emulator.pns._jwt import b64url_decode, b64url_encode


def _pywebpush(sims: RunningSimulators, sub: dict[str, str], text: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    session.verify = sims.endpoints.ca_file
    info = {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}
    creds = sims.credentials
    response = webpush(
        info,
        data=text,
        vapid_private_key=Vapid02.from_pem(creds.vapid_private_key.encode()),
        vapid_claims={"sub": creds.vapid_subject},
        ttl=60,
        requests_session=session,
    )
    assert isinstance(response, requests.Response)
    return response


async def test_pywebpush_message_is_decrypted(sims: RunningSimulators) -> None:
    sub = await sims.control.create_webpush_subscription(sims.credentials.vapid_public_key)
    text = "When I grow up, I want to be a watermelon ☃"
    response = await asyncio.to_thread(_pywebpush, sims, sub, text)
    assert response.status_code == 201
    assert response.headers["location"].startswith(sims.endpoints.webpush)
    [record] = await sims.control.records("webpush", sub["id"])
    assert record["payload"] == text


def test_rfc8291_appendix_a_vector() -> None:
    ua_private = ec.derive_private_key(
        int.from_bytes(b64url_decode("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"), "big"),
        ec.SECP256R1(),
    )
    body = b64url_decode(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmY"
        "WAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSg"
        "Sxsj_Qulcy4a-fN"
    )
    auth = b64url_decode("BTBZMqHH6r4Tts7J_aSIgg")
    assert decrypt(body, ua_private, auth) == b"When I grow up, I want to be a watermelon"
    with pytest.raises(EceError):
        decrypt(body[:-1] + bytes([body[-1] ^ 1]), ua_private, auth)


def _vapid(sims: RunningSimulators, key: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    base = {"aud": sims.endpoints.webpush, "exp": int(time.time()) + 3600, "sub": "mailto:a@b.c"}
    base.update(claims)
    token = jwt.encode({k: v for k, v in base.items() if v is not None}, key, "ES256")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return f"vapid t={token}, k={b64url_encode(public)}"


def _encrypt(sub: dict[str, str], text: bytes) -> bytes:
    body: bytes = http_ece.encrypt(
        text,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(sub["p256dh"]),
        auth_secret=b64url_decode(sub["auth"]),
        version="aes128gcm",
    )
    return body


async def _push(
    sims: RunningSimulators, sub: dict[str, str], headers: dict[str, str], body: bytes
) -> httpx.Response:
    async with h1_client(sims) as client:
        return await client.post(sub["endpoint"], content=body, headers=headers)


@pytest.mark.parametrize(
    ("claims", "ttl", "status", "reason"),
    [
        ({}, "60", 201, None),
        ({"aud": "https://fcm.googleapis.com"}, "60", 403, "BadJwtToken"),
        ({"exp": int(time.time()) + 2 * 86400}, "60", 403, "BadJwtToken"),
        ({"exp": int(time.time()) - 10}, "60", 403, "BadJwtToken"),
        ({"sub": None}, "60", 403, "BadJwtToken"),
        ({}, None, 400, "BadTtl"),
        ({}, "soon", 400, "BadTtl"),
    ],
)
async def test_vapid_and_ttl_checks(
    sims: RunningSimulators,
    claims: dict[str, Any],
    ttl: str | None,
    status: int,
    reason: str | None,
) -> None:
    sub = await sims.control.create_webpush_subscription()
    headers = {"authorization": _vapid(sims, ec.generate_private_key(ec.SECP256R1()), **claims)}
    headers["content-encoding"] = "aes128gcm"
    if ttl is not None:
        headers["ttl"] = ttl
    response = await _push(sims, sub, headers, _encrypt(sub, b"hello"))
    assert response.status_code == status
    if reason:
        assert response.json() == {"reason": reason}


async def test_authorization_problems(sims: RunningSimulators) -> None:
    sub = await sims.control.create_webpush_subscription(sims.credentials.vapid_public_key)
    body = _encrypt(sub, b"hello")
    base = {"ttl": "0", "content-encoding": "aes128gcm"}
    missing = await _push(sims, sub, base, body)
    other_key = _vapid(sims, ec.generate_private_key(ec.SECP256R1()))
    mismatch = await _push(sims, sub, {**base, "authorization": other_key}, body)
    signer = ec.generate_private_key(ec.SECP256R1())
    forged = _vapid(sims, signer).split(", k=")[0] + ", k=" + sims.credentials.vapid_public_key
    bad_signature = await _push(sims, sub, {**base, "authorization": forged}, body)
    assert (missing.status_code, missing.json()["reason"]) == (401, "BadAuthorizationHeader")
    assert (mismatch.status_code, mismatch.json()["reason"]) == (403, "VapidPkHashMismatch")
    assert (bad_signature.status_code, bad_signature.json()["reason"]) == (403, "BadJwtToken")


async def test_body_checks_and_subscription_state(sims: RunningSimulators) -> None:
    sub = await sims.control.create_webpush_subscription()
    auth = {"authorization": _vapid(sims, ec.generate_private_key(ec.SECP256R1())), "ttl": "5"}
    encoded = {**auth, "content-encoding": "aes128gcm"}
    too_big = await _push(sims, sub, encoded, b"x" * 4097)
    wrong_encoding = await _push(sims, sub, {**auth, "content-encoding": "aesgcm"}, b"x" * 200)
    garbage = await _push(sims, sub, encoded, b"x" * 200)
    empty = await _push(sims, sub, auth, b"")
    assert (too_big.status_code, too_big.json()["reason"]) == (413, "PayloadTooLarge")
    assert (wrong_encoding.status_code, garbage.status_code, empty.status_code) == (400, 400, 201)
    unknown = {**sub, "endpoint": sub["endpoint"] + "x"}
    assert (await _push(sims, unknown, encoded, _encrypt(sub, b"a"))).status_code == 404
    await sims.control.mark_handle("webpush", sub["id"], "dead")
    gone = await _push(sims, sub, encoded, _encrypt(sub, b"a"))
    assert (gone.status_code, gone.json()["reason"]) == (410, "Unregistered")
