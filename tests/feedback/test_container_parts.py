"""The feedback container's pure parts: its signature, blob names, ranges and records."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ForbiddenError
from shared.feedback.container import (
    blob_answer,
    blob_name,
    check_container_sas,
    container_url,
    feedback_record,
)
from shared.http import HttpAnswer
from shared.hubs.model import FULL_POLICY, LISTEN_POLICY, Hub
from shared.store.feedback import Action, FeedbackEntry

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HUB = Hub.new("fbhub")
NS = "{http://schemas.microsoft.com/netservices/2010/10/servicebus/connect}"


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_a_container_url_verifies_until_it_expires() -> None:
    asked = "https://h.example/fbhub/feedbackcontainer?api-version=2015-01"
    url = container_url(asked, HUB, FULL_POLICY, NOW)
    assert urlsplit(url).path == "/fbhub/feedbackcontainer"
    query = _query(url)
    check_container_sas(query, HUB, NOW + timedelta(minutes=59))
    with pytest.raises(ForbiddenError):
        check_container_sas(query, HUB, NOW + timedelta(hours=1))
    with pytest.raises(ForbiddenError):
        check_container_sas(query, Hub.new("fbhub"), NOW)  # the keys rotated


@given(st.sampled_from(["sig", "se", "si"]), st.text(max_size=20))
def test_any_changed_parameter_is_refused(name: str, value: str) -> None:
    query = _query(container_url("https://h/fbhub/feedbackcontainer", HUB, FULL_POLICY, NOW))
    if query[name] == value:
        return
    with pytest.raises(ForbiddenError):
        check_container_sas({**query, name: value}, HUB, NOW)


def test_a_listen_policy_cannot_sign_for_the_container() -> None:
    query = _query(container_url("https://h/fbhub/feedbackcontainer", HUB, LISTEN_POLICY, NOW))
    with pytest.raises(ForbiddenError):
        check_container_sas(query, HUB, NOW)


@given(st.dates(min_value=date(1970, 1, 1)))
def test_blobs_are_named_as_nh_names_them(day: date) -> None:
    assert blob_name(day.strftime("%Y%m%d")) == day.strftime("%m%d%Y")


@given(st.binary(max_size=64), st.integers(0, 80), st.integers(0, 80) | st.none())
def test_a_range_answers_exactly_its_bytes(content: bytes, first: int, last: int | None) -> None:
    answer = blob_answer(content, {}, f"bytes={first}-{'' if last is None else last}")
    if first >= len(content) or (last is not None and last < first):
        assert_invalid_range(answer, len(content))
        return
    assert answer.status == 206
    assert answer.body == content[first : None if last is None else last + 1]
    assert answer.headers["Content-Range"].endswith(f"/{len(content)}")


def assert_invalid_range(answer: HttpAnswer, length: int) -> None:
    """Blob Storage's 416: the code in a header and an XML body, and the blob's length."""
    assert answer.status == 416
    assert answer.headers["x-ms-error-code"] == "InvalidRange"
    assert answer.headers["Content-Range"] == f"bytes */{length}"
    assert answer.headers["Content-Type"] == "application/xml"
    assert ET.fromstring(answer.body).findtext("Code") == "InvalidRange"


def test_a_range_that_ends_before_it_starts_is_416() -> None:
    """It was a 206 with an empty body; Blob Storage answers 416."""
    assert_invalid_range(blob_answer(b"0123456789", {}, "bytes=5-2"), 10)


@pytest.mark.parametrize(
    ("requested", "status"),
    [
        ("bytes=" + "9" * 5000 + "-", 416),  # int() refuses over 4,300 digits
        ("bytes=0-" + "9" * 5000, 206),
        ("bytes=\u0661-", 200),  # not ASCII digits: not a range, so the whole blob
        ("bytes=0-1,3-4", 200),
        ("items=0-1", 200),
    ],
)
def test_odd_ranges_get_a_blob_answer(requested: str, status: int) -> None:
    assert blob_answer(b"0123456789", {}, requested).status == status


def test_a_record_is_one_line_of_nh_xml_with_the_handle_escaped() -> None:
    entry = FeedbackEntry(
        platform="wns",
        handle="https://wns.example/?token=a&b<c",
        installation_id="dev-1",
        action=Action.EXPIRED,
        outcome="expired_handle",
        reason="410 Gone",
        reported_at=NOW,
        applied_at=NOW,
        notification_id="n1",
    )
    line = feedback_record(entry)
    assert "\n" not in line
    record = ET.fromstring(line)
    assert record.findtext(f"{NS}PnsHandle") == entry.handle
    assert record.findtext(f"{NS}NotificationSystemError") == "ExpiredChannel"
    assert record.findtext(f"{NS}FeedbackTime") == "2026-11-24T12:00:00.0000000Z"


def test_a_registrations_record_names_its_registration_id() -> None:
    entry = FeedbackEntry(
        platform="apns",
        handle="00FE",
        installation_id="reg:123-456-1",
        action=Action.DELETED,
        outcome="expired_handle",
        reason="Unregistered",
        reported_at=NOW,
        applied_at=NOW,
    )
    record = ET.fromstring(feedback_record(entry))
    assert record.findtext(f"{NS}RegistrationId") == "123-456-1"
    assert record.find(f"{NS}InstallationId") is None
    assert entry.to_json()["registrationId"] == "123-456-1"
