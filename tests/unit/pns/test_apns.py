"""APNs: the response table, the provider token's refresh timing, local rejections."""

from __future__ import annotations

import json

import jwt
import pytest
from unit.pns.keys import FakeClock, ec_key, ec_pem

from shared.errors import BadRequestError
from shared.pns._apns_auth import ProviderToken
from shared.pns._h2core import Response
from shared.pns.apns import APNS_SANDBOX, ApnsCredentials, ApnsSender
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

K = OutcomeKind
TOKEN = "ab" * 32


def sender(clock: FakeClock | None = None) -> ApnsSender:
    creds = ApnsCredentials.from_dict(
        {"bundle_id": "com.example.app", "key_id": "KEY1234567", "team_id": "TEAM123456"}
        | {"signing_key": ec_pem(), "endpoint": "https://127.0.0.1:9"}
    )
    return ApnsSender(creds, PnsOptions(clock=clock or FakeClock()))


def answer(status: int, reason: str | None = None, **extra: object) -> Response:
    body = json.dumps({"reason": reason, **extra}).encode() if reason else b""
    return Response(status, [(b":status", str(status).encode())], body)


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [
        (200, None, K.DELIVERED),
        (400, "BadDeviceToken", K.INVALID_HANDLE),
        (400, "DeviceTokenNotForTopic", K.INVALID_HANDLE),
        (400, "BadTopic", K.CREDENTIALS_REJECTED),
        (400, "TopicDisallowed", K.CREDENTIALS_REJECTED),
        (400, "MissingTopic", K.CREDENTIALS_REJECTED),
        (400, "IdleTimeout", K.TRANSIENT),
        (400, "BadCollapseId", K.PAYLOAD_REJECTED),
        (400, "InvalidPushType", K.PAYLOAD_REJECTED),
        (403, "ExpiredProviderToken", K.TRANSIENT),
        (403, "InvalidProviderToken", K.CREDENTIALS_REJECTED),
        (403, "BadCertificateEnvironment", K.CREDENTIALS_REJECTED),
        (404, "BadPath", K.PAYLOAD_REJECTED),
        (405, "MethodNotAllowed", K.PAYLOAD_REJECTED),
        (410, "Unregistered", K.EXPIRED_HANDLE),
        (410, "ExpiredToken", K.EXPIRED_HANDLE),
        (413, "PayloadTooLarge", K.PAYLOAD_REJECTED),
        (429, "TooManyProviderTokenUpdates", K.THROTTLED),
        (429, "TooManyRequests", K.THROTTLED),
        (500, "InternalServerError", K.TRANSIENT),
        (503, "ServiceUnavailable", K.TRANSIENT),
        (502, None, K.TRANSIENT),
    ],
)
def test_every_answer_maps_to_one_outcome_naming_the_handle(
    status: int, reason: str | None, kind: OutcomeKind
) -> None:
    outcome = sender()._outcome(TOKEN, answer(status, reason))
    assert (outcome.kind, outcome.handle, outcome.status) == (kind, TOKEN, status)
    if reason:
        assert outcome.reason.startswith(reason)


def test_unregistered_keeps_apples_timestamp() -> None:
    outcome = sender()._outcome(TOKEN, answer(410, "Unregistered", timestamp=1700000000123))
    assert outcome.reason == "Unregistered: timestamp 1700000000123"


def test_provider_token_claims() -> None:
    clock = FakeClock()
    header = ProviderToken(ec_key(), key_id="KEY1234567", team_id="TEAM123456", clock=clock)
    value = header.header().decode()
    assert value.startswith("bearer ")
    token = value.removeprefix("bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY1234567", "typ": "JWT"}
    claims = jwt.decode(token, ec_key().public_key(), algorithms=["ES256"])
    assert claims == {"iss": "TEAM123456", "iat": int(clock.now)}


def test_provider_token_is_reused_then_refreshed_inside_apples_window() -> None:
    clock = FakeClock()
    token = ProviderToken(ec_key(), key_id="K", team_id="T", clock=clock)
    first = token.header()
    for minutes in (1, 19, 39.9):
        clock.now = 1_700_000_000.0 + minutes * 60
        assert token.header() == first  # never re-minted within 20 minutes
    clock.now = 1_700_000_000.0 + 40 * 60
    second = token.header()
    assert second != first
    assert token.issued_at == int(clock.now)


def test_no_token_older_than_an_hour_is_ever_used() -> None:
    clock = FakeClock()
    token = ProviderToken(ec_key(), key_id="K", team_id="T", clock=clock)
    start = clock.now
    for step in range(0, 6 * 3600, 97):  # sample every 97 s over six hours
        clock.now = start + step
        value = token.header().decode().removeprefix("bearer ")
        claims = jwt.decode(value, ec_key().public_key(), algorithms=["ES256"])
        assert clock.now - claims["iat"] < 50 * 60 + 1


def test_refresh_age_must_sit_in_the_20_to_50_minute_window() -> None:
    for minutes in (19, 51):
        with pytest.raises(ValueError, match="20 and 50"):
            ProviderToken(
                ec_key(), key_id="K", team_id="T", clock=FakeClock(), refresh_age=minutes * 60
            )


def test_expired_provider_token_remints_only_after_twenty_minutes() -> None:
    clock = FakeClock()
    token = ProviderToken(ec_key(), key_id="K", team_id="T", clock=clock)
    first = token.header()
    clock.now += 10 * 60
    token.expired()
    assert token.header() == first  # a new token now would be churn (429)
    clock.now += 15 * 60
    token.expired()
    assert token.header() != first


async def test_local_rejections_name_the_handle_and_send_nothing() -> None:
    apns = sender()
    alert = json.dumps({"aps": {"alert": "hi"}}).encode()
    messages = [
        PushMessage("not-hex!", alert),
        PushMessage(TOKEN, b"{" + b" " * 4095 + b"}"),  # 4097 bytes
        PushMessage(TOKEN, b"x" * 5121, {"apns-push-type": "voip"}),
        PushMessage(TOKEN, b""),
        PushMessage(TOKEN, alert, {"apns-priority": "7"}),
        PushMessage(TOKEN, alert, {"apns-collapse-id": "c" * 65}),
        PushMessage(TOKEN, alert, {"apns-push-type": "smoke-signal"}),
        PushMessage(TOKEN, alert, {"apns-expiration": "tomorrow"}),
    ]
    outcomes = await apns.send(messages)
    await apns.aclose()
    assert [o.handle for o in outcomes] == [m.handle for m in messages]
    assert all(o.status is None for o in outcomes)
    assert [o.kind for o in outcomes] == [K.INVALID_HANDLE] + [K.PAYLOAD_REJECTED] * 7
    assert [o.reason.split(":")[0] for o in outcomes[1:]] == [
        "PayloadTooLarge",
        "PayloadTooLarge",
        "PayloadEmpty",
        "BadPriority",
        "BadCollapseId",
        "InvalidPushType",
        "BadExpirationDate",
    ]


def test_credentials_from_dict_and_masked_repr() -> None:
    data = {"bundle_id": "com.x", "key_id": "K", "team_id": "T", "signing_key": ec_pem()}
    creds = ApnsCredentials.from_dict(data | {"endpoint": "sandbox"})
    assert creds.endpoint == APNS_SANDBOX
    assert "PRIVATE KEY" not in repr(creds)
    assert "signing_key='***'" in repr(creds)
    assert ApnsCredentials.from_dict(creds.to_dict()) == creds


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"key_id": "K"}, "bundle_id"),
        ({"bundle_id": "b"}, "signing_key"),
        ({"bundle_id": "b", "signing_key": "nope", "key_id": "K", "team_id": "T"}, "PEM"),
        ({"bundle_id": "b", "signing_key": "x"}, "key_id"),
        ({"bundle_id": "b", "certificate": "bm90IGEgY2VydA=="}, "certificate"),
        ({"bundle_id": "b", "colour": "red"}, "unknown field"),
    ],
)
def test_bad_credentials_are_refused_clearly(data: dict[str, object], words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        ApnsCredentials.from_dict(data)
