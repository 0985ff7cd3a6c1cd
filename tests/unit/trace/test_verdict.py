"""The trace's verdict: each reason a send passes an installation by, and agreement with the
send's own selection rule (shared.fanout.select) on any installation and tag expression."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.model.installation import Installation, parse_installation
from shared.sending.outcomes import NhOutcome, NotificationState
from shared.sending.request import SendRequest
from shared.trace.verdict import (
    Reason,
    SendFacts,
    Verdict,
    selected,
    trace,
    why_not_targeted,
)

SENT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TEMPLATE = {"body": '{"aps":{"alert":"$(msg)"}}', "tags": ["vip"]}


def _installation(**fields: Any) -> Installation:
    body = {"installationId": "phone-1", "platform": "apns", "pushChannel": "ab" * 32, **fields}
    return parse_installation(body, max_tags=60)


def _send(format: str = "apple", tags: str | None = None, **extra: Any) -> SendRequest:
    data = {"v": 1, "format": format, "body": "{}", **extra}
    if tags is not None:
        data["tags"] = tags
    return SendRequest.from_json(json.dumps(data))


def _facts(
    send: SendRequest, state: NotificationState = NotificationState.COMPLETED, **kw: Any
) -> SendFacts:
    return SendFacts(request=send, started=SENT, state=state, **kw)


@pytest.mark.parametrize(
    ("installation", "send", "reasons"),
    [
        (_installation(tags=["news"]), _send(tags="news"), []),
        (_installation(tags=["news"]), _send(tags="sports"), [Reason.NO_MATCHING_TAG]),
        (_installation(tags=["news"]), _send("gcm", tags="news"), [Reason.PLATFORM_MISMATCH]),
        (_installation(), _send("template"), [Reason.NO_MATCHING_TEMPLATE]),
        (
            _installation(templates={"t": TEMPLATE}),
            _send("template", tags="news"),
            [Reason.NO_MATCHING_TAG],
        ),
        (_installation(templates={"t": TEMPLATE}), _send("template", tags="vip"), []),
        (_installation(pushChannelExpired=True), _send(), [Reason.CHANNEL_EXPIRED]),
        (
            _installation(expirationTime=(SENT - timedelta(days=1)).isoformat()),
            _send(),
            [Reason.INSTALLATION_EXPIRED],
        ),
        (_installation(), _send(devices=[{"handle": "cd" * 32}]), [Reason.NOT_ADDRESSED]),
        (_installation(), _send(devices=[{"handle": "ab" * 32}]), []),
        (
            _installation(tags=["news"], pushChannelExpired=True),
            _send("windows", tags="sports"),
            [Reason.CHANNEL_EXPIRED, Reason.PLATFORM_MISMATCH, Reason.NO_MATCHING_TAG],
        ),
    ],
)
def test_each_reason_is_named(
    installation: Installation, send: SendRequest, reasons: list[Reason]
) -> None:
    assert why_not_targeted(installation, send, SENT) == reasons


def test_a_targeted_delivery_takes_its_outcome_from_the_named_failures() -> None:
    phone = _installation(tags=["news"])
    send = _send(tags="news")
    failure = {"installationId": "phone-1", "outcome": "ExpiredChannel", "reason": "Unregistered"}
    other = {"installationId": "phone-2", "outcome": "BadChannel", "reason": "BadDeviceToken"}
    assert trace(phone, _facts(send)).verdict is Verdict.DELIVERED
    failed = trace(phone, _facts(send, failures=[other, failure]))
    assert failed.verdict is Verdict.FAILED
    assert [(f.outcome, f.reason) for f in failed.failures] == [
        (NhOutcome.EXPIRED_CHANNEL, "Unregistered")
    ]
    dropped = {"installationId": "phone-1", "outcome": "Dropped", "reason": "TTL passed"}
    assert trace(phone, _facts(send, failures=[dropped])).reasons == (Reason.DROPPED_AFTER_TTL,)
    assert trace(phone, _facts(send, NotificationState.PROCESSING)).verdict is Verdict.PENDING
    assert trace(phone, _facts(send, NotificationState.ABANDONED)).verdict is Verdict.DROPPED
    cancelled = trace(phone, _facts(send, NotificationState.CANCELLED))
    assert (cancelled.verdict, cancelled.reasons) == (Verdict.DROPPED, (Reason.CANCELLED,))
    assert trace(phone, _facts(send, untold_failures=3)).verdict is Verdict.UNKNOWN


def test_an_installation_written_after_the_send_is_flagged() -> None:
    phone = _installation(tags=["news"], lastUpdate=(SENT + timedelta(minutes=1)).isoformat())
    assert trace(phone, _facts(_send(tags="sports"))).changed_since


_TAGS = st.sampled_from(["a", "b", "c"])
_EXPRESSIONS = st.sampled_from(
    [None, "a", "b", "a && b", "a || c", "!a", "a && !b", "(a || b) && c", "$UserId:{u}"]
)


@given(
    native=st.lists(_TAGS, unique=True),
    templates=st.dictionaries(
        st.sampled_from(["a", "t1", "t2"]), st.lists(_TAGS, unique=True), max_size=2
    ),
    platform=st.sampled_from(["apns", "fcmv1", "wns"]),
    user=st.sampled_from([None, "u"]),
    expired=st.booleans(),
    send_format=st.sampled_from(["apple", "gcm", "fcmv1", "windows", "template"]),
    expression=_EXPRESSIONS,
)
def test_no_reason_exactly_when_the_send_rule_selects_it(
    native: list[str],
    templates: dict[str, list[str]],
    platform: str,
    user: str | None,
    expired: bool,
    send_format: str,
    expression: str | None,
) -> None:
    channel = "https://x.notify.windows.com/?token=1" if platform == "wns" else "ab" * 32
    body: dict[str, Any] = {
        "installationId": "phone-1",
        "platform": platform,
        "pushChannel": channel,
        "tags": native,
        "pushChannelExpired": expired,
        "templates": {
            name: {"body": "<toast>$(m)</toast>" if platform == "wns" else "{}", "tags": tags}
            | ({"headers": {"X-WNS-Type": "wns/toast"}} if platform == "wns" else {})
            for name, tags in templates.items()
        },
    }
    if user is not None:
        body["userId"] = user
    installation = parse_installation(body, max_tags=60)
    send = _send(send_format, tags=expression)
    reasons = why_not_targeted(installation, send, SENT)
    assert (reasons == []) == bool(selected(installation, send, SENT))
