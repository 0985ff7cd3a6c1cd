"""Notification ids list a hub's notifications newest first; a listing page's query is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError, NotFoundError
from shared.store.notifications import listing_page, new_notification_id

_TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(9980, 1, 1), timezones=st.just(UTC)
)


_GAPS = st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=3650))


@given(earlier=_TIMES, later_by=_GAPS)
def test_a_later_id_sorts_first_past_its_range_digit(
    earlier: datetime, later_by: timedelta
) -> None:
    first, second = new_notification_id(earlier), new_notification_id(earlier + later_by)
    assert len(first) == len(second) == 32
    assert set(first + second) <= set("0123456789abcdef")
    assert second[1:] < first[1:]


def test_ids_made_at_once_spread_over_every_range() -> None:
    now = datetime.now(UTC)
    assert {new_notification_id(now)[0] for _ in range(2000)} == set("0123456789abcdef")


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ({}, (20, None)),
        ({"top": "1", "continuationToken": "00ff"}, (1, "00ff")),
        ({"top": "100"}, (100, None)),
    ],
)
def test_a_listing_page_query(query: dict[str, str], page: tuple[int, str | None]) -> None:
    assert listing_page(query) == page


@pytest.mark.parametrize("top", ["0", "101", "-1", "x", "", "٣", "1" * 30, "0100000", " 5"])
def test_a_bad_top_is_a_400(top: str) -> None:
    with pytest.raises(BadRequestError):
        listing_page({"top": top})


def test_a_token_that_is_no_id_names_no_notification() -> None:
    with pytest.raises(NotFoundError):
        listing_page({"continuationToken": "a/b"})
