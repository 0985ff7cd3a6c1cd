"""Retry-After parsing and the table fallback shared by every PNS module."""

from __future__ import annotations

import email.utils

from hypothesis import given
from hypothesis import strategies as st

from shared.pns._classify import classify, parse_retry_after
from shared.pns.base import OutcomeKind

NOW = 1_700_000_000.0


@given(st.integers(min_value=0, max_value=10**7))
def test_delta_seconds(seconds: int) -> None:
    assert parse_retry_after(str(seconds), NOW) == float(seconds)


@given(st.integers(min_value=0, max_value=10**6))
def test_http_dates_become_seconds_from_now(ahead: int) -> None:
    value = email.utils.formatdate(NOW + ahead, usegmt=True)
    assert parse_retry_after(value, NOW) == float(ahead)


def test_past_dates_and_garbage() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 60, usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("-5", NOW) is None


@given(st.integers(min_value=100, max_value=599), st.text(max_size=10) | st.none())
def test_unknown_statuses_never_look_like_dead_handles(status: int, reason: str | None) -> None:
    kind = classify({}, status, reason)
    expected = OutcomeKind.TRANSIENT if status >= 500 else OutcomeKind.PAYLOAD_REJECTED
    assert kind is expected
