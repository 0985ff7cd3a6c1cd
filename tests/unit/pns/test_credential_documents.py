"""Credentials as an operator writes them: Herald's names, NH's names, NH's ARM shape; each read
into Herald's form and checked offline, so a bad one is refused when it is set."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from unit.pns.keys import ec_key, ec_pem, rsa_pem

from shared.errors import BadRequestError
from shared.pns._apns_auth import pem_private_key
from shared.pns._webpush_crypto import b64url, public_bytes
from shared.pns.apns import APNS_PRODUCTION, APNS_SANDBOX
from shared.pns.base import Platform
from shared.pns.credentials import read_credential

APNS_NH = {"appName": "com.example.app", "keyId": "KEY1234567", "appId": "TEAM123456"}


def p8_body() -> str:
    """A .p8 key as NH's portal takes it: the PEM's base64 alone, on one line."""
    return "".join(line for line in ec_pem().splitlines() if not line.startswith("-----"))


def vapid() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(scalar), b64url(public_bytes(key))


def test_apns_with_nh_names_and_the_key_body_alone() -> None:
    nh = {
        "appName": "com.example.app",
        "keyId": "KEY1234567",
        "appId": "TEAM123456",
        "token": p8_body(),
        "endpoint": "https://api.development.push.apple.com:443/3/device",
    }
    stored = read_credential(Platform.APNS, nh)
    assert stored["bundle_id"] == "com.example.app"
    assert stored["team_id"] == "TEAM123456"
    assert stored["endpoint"] == APNS_SANDBOX
    loaded = serialization.load_pem_private_key(stored["signing_key"].encode(), None)
    assert loaded.public_key() == ec_key().public_key()
    # Read back, Herald's own form is the same credential.
    assert read_credential(Platform.APNS, stored) == stored


def test_apns_arm_shape_as_a_template_holds_it() -> None:
    arm = {
        "properties": {
            "apnsCredential": {
                "properties": {
                    "appName": "com.example.app",
                    "keyId": "KEY1234567",
                    "appId": "TEAM123456",
                    "token": p8_body(),
                    "endpoint": "https://api.push.apple.com:443/3/device",
                }
            },
            "fcmV1Credential": {"properties": {"projectId": "p"}},
        }
    }
    stored = read_credential(Platform.APNS, arm)
    assert stored["endpoint"] == APNS_PRODUCTION
    assert stored["key_id"] == "KEY1234567"


def test_fcm_wns_browser_adm_baidu_xiaomi_with_nh_names() -> None:
    private, public = vapid()
    documents: dict[Platform, dict[str, Any]] = {
        Platform.FCMV1: {
            "fcmV1Credential": {
                "properties": {
                    "projectId": "my-project",
                    "clientEmail": "push@my-project.iam.gserviceaccount.com",
                    "privateKey": rsa_pem(),
                }
            }
        },
        Platform.WNS: {"packageSid": "ms-app://s-1-15-2-1", "secretKey": "s3cret"},
        Platform.BROWSER: {
            "subject": "mailto:ops@example.com",
            "vapidPrivateKey": private,
            "vapidPublicKey": public,
        },
        Platform.ADM: {"clientId": "amzn1.application", "clientSecret": "s3cret"},
        Platform.BAIDU: {
            "baiduCredential": {"properties": {"baiduApiKey": "k"} | {"baiduSecretKey": "s"}}
        },
        Platform.XIAOMI: {
            "xiaomiCredential": {"properties": {"appSecret": "s", "endpoint": "global"}}
        },
    }
    stored = {platform: read_credential(platform, doc) for platform, doc in documents.items()}
    assert stored[Platform.FCMV1]["project_id"] == "my-project"
    assert stored[Platform.WNS]["client_id"] == "ms-app://s-1-15-2-1"
    assert stored[Platform.BROWSER]["public_key"] == public
    assert stored[Platform.ADM]["client_secret"] == "s3cret"
    assert stored[Platform.BAIDU]["api_key"] == "k"
    assert stored[Platform.XIAOMI]["app_secret"] == "s"


@pytest.mark.parametrize(
    ("platform", "document", "says"),
    [
        # The user's own spelling is named back to them, with the fields that exist.
        (Platform.APNS, {"bundleId": "x"}, "unknown field(s) bundleId; the fields are"),
        (Platform.APNS, APNS_NH, "give 'signing_key'"),
        (Platform.APNS, {**APNS_NH, "token": "bm90IGEga2V5"}, "neither a PEM"),
        (Platform.FCMV1, {"clientEmail": "a@b"}, "required (NH's name: 'projectId')"),
        (Platform.FCMV1, {"projectId": "p", "clientEmail": "a@b", "privateKey": "x"}, "not a PEM"),
        (Platform.FCMV1, {"gcmCredential": {"properties": {"googleApiKey": "k"}}}, "retired"),
        (Platform.WNS, {"apnsCredential": {"properties": {}}}, "no wnsCredential"),
        (Platform.BROWSER, {"subject": "ops", "vapidPrivateKey": "x"}, "mailto:"),
        (Platform.ADM, ["not", "an", "object"], "JSON object"),
    ],
)  # fmt: skip
def test_a_bad_credential_is_refused_with_the_field_named(
    platform: Platform, document: object, says: str
) -> None:
    with pytest.raises(BadRequestError) as refused:
        read_credential(platform, document)
    assert says in refused.value.detail


@given(st.integers(min_value=0, max_value=120))
def test_a_p8_body_reads_however_it_is_wrapped(width: int) -> None:
    body = p8_body()
    wrapped = (
        body if width == 0 else "\n".join(body[i : i + width] for i in range(0, len(body), width))
    )
    pem = pem_private_key(wrapped)
    assert (
        serialization.load_pem_private_key(pem.encode(), None).public_key() == ec_key().public_key()
    )
    assert base64.b64decode(body)  # the body really is base64
