"""NH wire helpers: the error body byte for byte, tracking headers, api-version tolerance."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import BadRequestError, HeraldError, NotFoundError, UnauthorizedError
from shared.nh_wire import (
    CURRENT_API_VERSION,
    ERROR_CONTENT_TYPE,
    ApiVersion,
    api_version_of,
    error_answer,
    error_body,
    format_timestamp,
    parse_api_version,
    tracking_headers,
    tracking_id_for,
)

TRACKING = "cc8c4f9b-1d2e-4f5a-9b8c-7d6e5f4a3b2c_G3"
RECORDED_AT = datetime(2018, 11, 7, 0, 18, 37, tzinfo=UTC)


def test_error_body_matches_the_recorded_not_found_response() -> None:
    body = error_body(
        NotFoundError("Installation not found"), tracking_id=TRACKING, now=RECORDED_AT
    )
    assert body == (
        b"<Error><Code>404</Code><Detail>Installation not found.TrackingId:"
        b"cc8c4f9b-1d2e-4f5a-9b8c-7d6e5f4a3b2c_G3,TimeStamp:11/7/2018 12:18:37 AM</Detail></Error>"
    )


def test_a_detail_ending_in_a_period_is_not_doubled() -> None:
    body = error_body(UnauthorizedError("Bad token."), tracking_id="t", now=RECORDED_AT)
    assert b"Bad token.TrackingId:t," in body


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2018, 11, 7, 0, 18, 37, tzinfo=UTC), "11/7/2018 12:18:37 AM"),
        (datetime(2026, 1, 2, 12, 5, 9, tzinfo=UTC), "1/2/2026 12:05:09 PM"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "12/31/2026 11:59:59 PM"),
        (datetime(2026, 3, 4, 9, 0, 0, tzinfo=timezone(timedelta(hours=2))), "3/4/2026 7:00:00 AM"),
    ],
)
def test_timestamp_format(moment: datetime, expected: str) -> None:
    assert format_timestamp(moment) == expected


def test_error_answer_has_nh_content_type_status_and_tracking_headers() -> None:
    answer = error_answer(BadRequestError("Nope"), tracking_id="abc", now=RECORDED_AT)
    assert answer.status == 400
    assert answer.headers["Content-Type"] == ERROR_CONTENT_TYPE == "application/xml; charset=utf-8"
    assert answer.headers["TrackingId"] == "abc"
    assert answer.headers["x-ms-correlation-request-id"] == "abc"
    assert answer.body.startswith(b"<Error><Code>400</Code><Detail>Nope.TrackingId:abc,")


def test_error_answer_defaults_to_a_fresh_tracking_id() -> None:
    first = error_answer(HeraldError("boom"))
    second = error_answer(HeraldError("boom"))
    assert first.status == 500
    assert first.headers["TrackingId"] != second.headers["TrackingId"]


@settings(deadline=None)
@given(st.text())
def test_any_detail_gives_well_formed_xml_with_code_before_detail(detail: str) -> None:
    body = error_body(BadRequestError(detail), tracking_id=TRACKING, now=RECORDED_AT)
    root = ET.fromstring(body)
    assert [child.tag for child in root] == ["Code", "Detail"]
    assert root.findtext("Code") == "400"
    assert (root.findtext("Detail") or "").endswith(
        f".TrackingId:{TRACKING},TimeStamp:11/7/2018 12:18:37 AM"
    )


def test_tracking_id_echoes_a_sane_client_value_else_makes_one() -> None:
    assert tracking_id_for({"trackingid": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}) == (
        "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    )
    made = tracking_id_for({"TrackingId": "<script>"})
    assert made != "<script>"
    assert len(made) == 36
    assert tracking_headers(made)["TrackingId"] == made


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-08", ApiVersion(2013, 8)),
        ("2013-10", ApiVersion(2013, 10)),
        ("2014-09", ApiVersion(2014, 9)),
        ("2015-01", ApiVersion(2015, 1)),
        ("2015-04", ApiVersion(2015, 4)),
        ("2015-08", ApiVersion(2015, 8)),
        ("2016-07", ApiVersion(2016, 7)),
        ("2017-04", ApiVersion(2017, 4)),
        ("2020-06", ApiVersion(2020, 6)),
        (" 2020-06 ", ApiVersion(2020, 6)),
        ("2023-10-01-preview", ApiVersion(2023, 10)),
        (None, CURRENT_API_VERSION),
        ("", CURRENT_API_VERSION),
    ],
)
def test_every_seen_api_version_parses(text: str | None, expected: ApiVersion) -> None:
    assert parse_api_version(text) == expected


@pytest.mark.parametrize("text", ["latest", "2020-13", "20-06", "2020-06; drop"])
def test_a_malformed_api_version_is_400(text: str) -> None:
    with pytest.raises(BadRequestError, match="api-version"):
        parse_api_version(text)


def test_throttling_style_follows_the_version() -> None:
    assert parse_api_version("2020-06").throttles_with_429
    assert not parse_api_version("2017-04").throttles_with_429
    assert str(parse_api_version("2015-01-01")) == "2015-01"


def test_api_version_prefers_the_query_then_the_header() -> None:
    assert api_version_of({"api-version": "2015-01"}, {"x-ms-version": "2020-06"}) == ApiVersion(
        2015, 1
    )
    assert api_version_of({}, {"X-MS-Version": "2017-04"}) == ApiVersion(2017, 4)
    assert api_version_of({}, {}) == CURRENT_API_VERSION


@settings(deadline=None)
@given(st.text(max_size=40))
def test_api_version_parsing_only_raises_bad_request(text: str) -> None:
    with contextlib.suppress(BadRequestError):
        parse_api_version(text)
