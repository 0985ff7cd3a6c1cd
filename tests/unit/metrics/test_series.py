"""The metrics' pure parts: merging counts, buckets, the answer's shape, and the query window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.metrics.api import MAX_BUCKETS, Window, metrics_json, parse_window
from shared.metrics.series import (
    Counts,
    Granularity,
    bucket_json,
    delivery_key,
    epoch_minute,
    event_key,
    merged,
    moment_of,
)

NOW = datetime(2026, 12, 6, 10, 0, 30, tzinfo=UTC)
_KEYS = st.sampled_from(["d|apns|delivered", "n|tag|apple", "l|apns", "ls|apns", "lx|apns"])
_COUNTS = st.dictionaries(_KEYS, st.integers(min_value=0, max_value=10**6))


@given(st.lists(_COUNTS, max_size=6))
def test_merging_sums_every_series_but_the_maximum_in_any_order(
    parts: list[dict[str, int]],
) -> None:
    total = merged(parts)
    assert merged(reversed(parts)) == total
    for key in {k for part in parts for k in part}:
        numbers = [part[key] for part in parts if key in part]
        assert total[key] == (max(numbers) if key.startswith("lx|") else sum(numbers))


@given(st.integers(min_value=0, max_value=10**8), st.sampled_from(list(Granularity)))
def test_a_bucket_starts_at_its_boundary_and_holds_the_minute(
    minute: int, granularity: Granularity
) -> None:
    start = granularity.start_of(minute)
    assert start <= minute < start + granularity.minutes
    assert moment_of(start).second == 0
    if granularity is Granularity.DAY:
        assert moment_of(start).hour == moment_of(start).minute == 0


def test_a_bucket_lists_only_counts_that_are_not_zero() -> None:
    counts = Counts({delivery_key("apns", "delivered"): 3, delivery_key("apns", "throttled"): 0})
    counts.latency("apns", 0.010)
    counts.latency("apns", 0.030)
    counts.add("e|400", 2)
    counts.add("s|apns", 5)  # registry size changes are not a bucket's
    body = bucket_json(epoch_minute(NOW), counts)
    assert body == {
        "start": "2026-12-06T10:00:00Z",
        "notifications": [],
        "deliveries": [{"platform": "apns", "outcome": "delivered", "count": 3}],
        "pnsLatency": [{"platform": "apns", "count": 2, "meanMs": 20.0, "maxMs": 30.0}],
        "registry": [],
        "pruned": [],
        "apiErrors": [{"status": 400, "count": 2}],
        "opens": [],
    }
    assert bucket_json(0, Counts({"s|apns": 1, "d|apns|delivered": 0})) is None


def test_the_answer_sums_writers_per_bucket_and_the_registry_size_over_all_days() -> None:
    window = Window(Granularity.MINUTE, NOW - timedelta(minutes=5), NOW)
    minute = epoch_minute(NOW) - 2
    rows = [
        (minute, {"n|tag|apple": 1}),
        (minute, {"n|tag|apple": 2}),
        (minute - 1, {"o|opened": 1}),
    ]
    days = [{"s|apns": 3, "s|wns": 1}, {"s|apns": 2, "s|wns": -2}]
    body = metrics_json("hub1", window, rows, days)
    assert [b["start"] for b in body["buckets"]] == ["2026-12-06T09:57:00Z", "2026-12-06T09:58:00Z"]
    assert body["buckets"][1]["notifications"] == [{"kind": "tag", "format": "apple", "count": 3}]
    assert body["registrySize"] == [{"platform": "apns", "count": 5}]  # never below zero
    assert (body["hub"], body["interval"], body["to"]) == ("hub1", "PT1M", "2026-12-06T10:00:30Z")


def test_an_app_event_kind_outside_short_words_counts_as_other() -> None:
    assert event_key("Opened") == "o|opened"
    assert event_key("x" * 40) == event_key("a|b") == event_key("") == "o|other"


def test_the_window_defaults_to_the_last_hour_of_minutes() -> None:
    window = parse_window({}, NOW)
    assert window == Window(Granularity.MINUTE, datetime(2026, 12, 6, 9, 0, tzinfo=UTC), NOW)
    day = parse_window({"interval": "P1D", "from": "2026-12-01T13:00:00+01:00"}, NOW)
    assert day.start == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"interval": "PT5M"}, "interval must be one of PT1M, PT1H, P1D"),
        ({"from": "yesterday"}, "from 'yesterday' is not an ISO 8601 date-time"),
        ({"from": "2026-12-06T10:00:00Z", "to": "2026-12-06T09:00:00Z"}, "from must be before"),
        ({"from": "1969-12-31T00:00:00Z"}, "from must be from 1970"),
        ({"from": "2026-12-01T00:00:00Z"}, f"at most {MAX_BUCKETS:,} are answered"),
        ({"interval": "PT1H", "from": "2026-01-01T00:00:00Z"}, "holds 8,147 buckets of PT1H"),
    ],
)
def test_a_bad_window_is_a_400_that_says_why(query: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        parse_window(query, NOW)


def test_a_day_of_minutes_is_the_most_one_answer_holds() -> None:
    day = {"from": "2026-12-05T10:00:00Z", "to": "2026-12-06T10:00:00Z"}
    assert parse_window(day, NOW).start == datetime(2026, 12, 5, 10, tzinfo=UTC)
    with pytest.raises(BadRequestError):
        parse_window({**day, "to": "2026-12-06T10:00:01Z"}, NOW)
