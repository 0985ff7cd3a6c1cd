"""FCM v1: gcm -> v1 translation, request bodies, the error table, access-token caching."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.pns.keys import FakeClock, ec_pem, rsa_pem

from shared.errors import BadRequestError
from shared.pns._fcm_payload import PayloadError, to_v1_message
from shared.pns._h2core import Response
from shared.pns._http import TokenCache
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.fcm import FcmCredentials, FcmSender, _request_body
from shared.pns.options import PnsOptions

K = OutcomeKind
HANDLE = "fcm-token:APA91b"
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "herald-test",
    "private_key_id": "abc123",
    "private_key": rsa_pem(),
    "client_email": "push@herald-test.iam.gserviceaccount.com",
    "client_id": "1234",
    "token_uri": "https://oauth2.googleapis.com/token",
}


def test_gcm_payload_becomes_a_v1_message() -> None:
    legacy = {
        "data": {"order": "42", "count": 3, "nested": {"a": [1, 2]}},
        "notification": {
            "title": "Hi",
            "body": "There",
            "icon": "ic",
            "sound": "default",
            "body_loc_args": [1, "x"],
            "android_channel_id": "news",
        },
        "collapse_key": "score",
        "priority": "high",
        "time_to_live": 600,
        "restricted_package_name": "com.example",
        "to": "ignored-legacy-target",
    }
    assert to_v1_message(json.dumps(legacy).encode()) == {
        "data": {"order": "42", "count": "3", "nested": '{"a": [1, 2]}'},
        "notification": {"title": "Hi", "body": "There"},
        "android": {
            "notification": {
                "icon": "ic",
                "sound": "default",
                "body_loc_args": ["1", "x"],
                "channel_id": "news",
            },
            "collapse_key": "score",
            "priority": "HIGH",
            "ttl": "600s",
            "restricted_package_name": "com.example",
        },
    }


def test_v1_payload_passes_through_without_its_own_target() -> None:
    v1 = {"message": {"topic": "news", "data": {"k": "v"}, "apns": {"headers": {"a": "b"}}}}
    assert to_v1_message(json.dumps(v1).encode()) == {
        "data": {"k": "v"},
        "apns": {"headers": {"a": "b"}},
    }


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1]", b'{"message": 3}', b'{"data": "x"}', b'{"time_to_live": -1}'],
)
def test_untranslatable_payloads_are_refused(payload: bytes) -> None:
    with pytest.raises(PayloadError):
        to_v1_message(payload)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_translated_data_values_are_always_strings(data: dict[str, Any]) -> None:
    message = to_v1_message(json.dumps({"data": data}).encode())
    assert all(isinstance(v, str) for v in message.get("data", {}).values())
    assert message.get("data", {}).keys() == data.keys()


def test_request_body_targets_the_handle_and_checks_the_limit() -> None:
    body = _request_body(PushMessage(HANDLE, b'{"data": {"k": "v"}}'))
    assert json.loads(body) == {"message": {"token": HANDLE, "data": {"k": "v"}}}  # type: ignore[arg-type]
    empty = _request_body(PushMessage(HANDLE, b"{}"))
    assert json.loads(empty) == {"message": {"token": HANDLE}}  # type: ignore[arg-type]
    big = _request_body(PushMessage(HANDLE, json.dumps({"data": {"k": "v" * 4090}}).encode()))
    assert not isinstance(big, bytes)
    assert (big.kind, big.handle, big.status) == (K.PAYLOAD_REJECTED, HANDLE, None)
    spaced = _request_body(PushMessage("a b", b"{}"))
    assert not isinstance(spaced, bytes)
    assert spaced.kind is K.INVALID_HANDLE


def fcm_error(status: int, rpc: str, code: str | None = None, message: str = "") -> Response:
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
    error = {"code": status, "message": message, "status": rpc, "details": details if code else []}
    return Response(
        status, [(b":status", str(status).encode())], json.dumps({"error": error}).encode()
    )


BAD_TOKEN = "The registration token is not a valid FCM registration token"


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (Response(200, [], b'{"name": "projects/p/messages/1"}'), K.DELIVERED),
        (fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", BAD_TOKEN), K.INVALID_HANDLE),
        (
            fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "Message too big"),
            K.PAYLOAD_REJECTED,
        ),
        (fcm_error(400, "FAILED_PRECONDITION"), K.PAYLOAD_REJECTED),
        (fcm_error(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), K.CREDENTIALS_REJECTED),
        (fcm_error(401, "UNAUTHENTICATED", "APNS_AUTH_ERROR"), K.CREDENTIALS_REJECTED),
        (fcm_error(401, "UNAUTHENTICATED"), K.CREDENTIALS_REJECTED),
        (fcm_error(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), K.INVALID_HANDLE),
        (fcm_error(403, "PERMISSION_DENIED"), K.CREDENTIALS_REJECTED),
        (fcm_error(404, "NOT_FOUND", "UNREGISTERED"), K.EXPIRED_HANDLE),
        (fcm_error(404, "NOT_FOUND"), K.CREDENTIALS_REJECTED),
        (fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), K.THROTTLED),
        (fcm_error(429, "RESOURCE_EXHAUSTED"), K.THROTTLED),
        (fcm_error(500, "INTERNAL", "INTERNAL"), K.TRANSIENT),
        (fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"), K.TRANSIENT),
        (Response(502, [], b"<html>bad gateway</html>"), K.TRANSIENT),
    ],
)
def test_every_fcm_error_maps_to_one_outcome(answer: Response, kind: OutcomeKind) -> None:
    sender = FcmSender(FcmCredentials.from_dict(SERVICE_ACCOUNT), PnsOptions())
    outcome = sender._outcome(HANDLE, answer)
    assert (outcome.kind, outcome.handle, outcome.status) == (kind, HANDLE, answer.status)
    assert outcome.reason or kind is K.DELIVERED


def test_quota_exceeded_waits_a_minute_unless_told_otherwise() -> None:
    sender = FcmSender(FcmCredentials.from_dict(SERVICE_ACCOUNT), PnsOptions())
    bare = sender._outcome(HANDLE, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"))
    assert bare.retry_after == 60.0
    told = fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
    told.headers.append((b"retry-after", b"7"))
    assert sender._outcome(HANDLE, told).retry_after == 7.0


async def test_access_token_is_cached_until_shortly_before_expiry() -> None:
    clock = FakeClock()
    fetched: list[float] = []

    async def fetch() -> tuple[str, float]:
        fetched.append(clock.now)
        return f"token-{len(fetched)}", 3600.0

    cache = TokenCache(fetch, clock)
    assert await cache.get() == "token-1"
    clock.now += 3000  # 50 minutes: still well before expiry
    assert await cache.get() == "token-1"
    clock.now += 301  # inside the last five minutes: refresh
    assert await cache.get() == "token-2"
    cache.invalidate("token-1")  # an old token's refusal does not drop the new one
    assert await cache.get() == "token-2"
    cache.invalidate("token-2")
    assert await cache.get() == "token-3"
    assert len(fetched) == 3


def test_credentials_accept_the_service_account_file() -> None:
    creds = FcmCredentials.from_dict(SERVICE_ACCOUNT)
    assert (creds.project_id, creds.endpoint) == ("herald-test", "https://fcm.googleapis.com")
    assert "PRIVATE" not in repr(creds)
    assert FcmCredentials.from_dict(creds.to_dict()) == creds
    with pytest.raises(BadRequestError, match="RSA"):
        FcmCredentials.from_dict(SERVICE_ACCOUNT | {"private_key": ec_pem()})
    with pytest.raises(BadRequestError, match="client_email"):
        FcmCredentials.from_dict({k: v for k, v in SERVICE_ACCOUNT.items() if k != "client_email"})
