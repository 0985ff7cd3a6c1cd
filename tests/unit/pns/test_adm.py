"""ADM: the error table, replaced registration ids, local checks."""

from __future__ import annotations

import json

import pytest
from unit.pns.keys import answer

from shared.pns.adm import AdmCredentials, AdmSender
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

K = OutcomeKind
REG = "amzn1.adm-registration.v3.Y29tLmFtYXpvbi5EZXZpY2VNZXNzYWdpbmc"


def sender() -> AdmSender:
    creds = AdmCredentials.from_dict(
        {"client_id": "amzn1.application-oa2-client.x", "client_secret": "s"}
    )
    return AdmSender(creds, PnsOptions())


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [
        (200, None, K.DELIVERED),
        (400, "InvalidRegistrationId", K.INVALID_HANDLE),
        (400, "Unregistered", K.EXPIRED_HANDLE),
        (400, "InvalidData", K.PAYLOAD_REJECTED),
        (400, "InvalidConsolidationKey", K.PAYLOAD_REJECTED),
        (400, "InvalidExpiration", K.PAYLOAD_REJECTED),
        (400, "InvalidChecksum", K.PAYLOAD_REJECTED),
        (401, "AccessTokenExpired", K.TRANSIENT),
        (401, "Unauthorized", K.CREDENTIALS_REJECTED),
        (403, None, K.CREDENTIALS_REJECTED),
        (413, "MessageTooLarge", K.PAYLOAD_REJECTED),
        (429, "MaxRateExceeded", K.THROTTLED),
        (500, None, K.TRANSIENT),
        (503, None, K.TRANSIENT),
    ],
)
def test_every_answer_maps_to_one_outcome(
    status: int, reason: str | None, kind: OutcomeKind
) -> None:
    body = json.dumps({"reason": reason} if reason else {"registrationID": REG}).encode()
    outcome = sender()._outcome(REG, answer(status, body=body))
    assert (outcome.kind, outcome.handle, outcome.status) == (kind, REG, status)
    assert outcome.new_handle is None
    if reason:
        assert outcome.reason == reason


def test_a_new_registration_id_replaces_the_handle() -> None:
    body = json.dumps({"registrationID": REG + "-new"}).encode()
    outcome = sender()._outcome(REG, answer(200, body=body))
    assert (outcome.kind, outcome.new_handle) == (K.DELIVERED, REG + "-new")


def test_max_rate_exceeded_reports_retry_after() -> None:
    response = answer(429, body=b'{"reason":"MaxRateExceeded"}', headers={"Retry-After": "9"})
    assert sender()._outcome(REG, response).retry_after == 9.0


async def test_local_checks_need_no_request() -> None:
    adm = sender()
    adm.tokens._token, adm.tokens._refresh_at = "tok", float("inf")  # no token endpoint needed
    outcomes = await adm.send([PushMessage("bad id", b"{}"), PushMessage(REG, b"x" * 6145)])
    await adm.aclose()
    assert [(o.kind, o.status) for o in outcomes] == [
        (K.INVALID_HANDLE, None),
        (K.PAYLOAD_REJECTED, None),
    ]
