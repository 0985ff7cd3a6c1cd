"""NH bodies about sends, parsed back: namespace, element order, and the SDK-crash rules."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.pns.base import Outcome, OutcomeKind, Platform
from shared.sending.formats import SendFormat
from shared.sending.outcomes import NhOutcome, NotificationState, nh_outcome
from shared.sending.payloads import RenderFailure
from shared.sending.reports import (
    MAX_FAILURES_PER_PAGE,
    NH_NAMESPACE,
    SUCCESS_TEXT,
    XSI_NAMESPACE,
    FailedDelivery,
    NotificationReport,
    RegistrationResult,
    details_json,
    details_xml,
    notification_outcome_xml,
    target_platforms_text,
)

NS = f"{{{NH_NAMESPACE}}}"
ENQUEUED = datetime(2015, 11, 2, 21, 19, 43, tzinfo=UTC)
STARTED = datetime(2015, 11, 2, 21, 19, 43, 992699, tzinfo=UTC)
K = OutcomeKind
N = NhOutcome

REPORT = NotificationReport(
    notification_id="nid-1",
    location="https://herald.example/hub/messages/nid-1?api-version=2020-06",
    state=NotificationState.COMPLETED,
    enqueue_time=ENQUEUED,
    start_time=STARTED,
    end_time=STARTED,
    body="<toast>hi</toast>",
    tags="a && !b",
    target_platforms="windows",
    counts={
        Platform.WNS: {N.WRONG_TOKEN: 1, N.SUCCESS: 3, N.THROTTLED: 0},
        Platform.APNS: {},
        Platform.FCMV1: {N.SUCCESS: 2},
        Platform.BROWSER: {N.EXPIRED_CHANNEL: 1},
    },
    pns_error_details_uri="https://blob.example/c?sig=x&se=1",
)


def children(root: ET.Element) -> list[str]:
    return [child.tag.removeprefix(NS) for child in root]


def test_details_xml_has_the_namespace_and_net_element_order() -> None:
    root = ET.fromstring(details_xml(REPORT))

    assert root.tag == f"{NS}NotificationDetails"
    assert children(root) == [
        "NotificationId",
        "Location",
        "State",
        "EnqueueTime",
        "StartTime",
        "EndTime",
        "NotificationBody",
        "Tags",
        "TargetPlatforms",
        "WnsOutcomeCounts",
        "PnsErrorDetailsUri",
        "FcmV1OutcomeCounts",
        "BrowserOutcomeCounts",
    ]
    assert root.findtext(f"{NS}NotificationBody") == "<toast>hi</toast>"
    assert root.findtext(f"{NS}StartTime") == "2015-11-02T21:19:43.9926990Z"
    assert root.findtext(f"{NS}PnsErrorDetailsUri") == "https://blob.example/c?sig=x&se=1"


def test_outcome_counts_list_success_first_and_never_an_empty_element() -> None:
    root = ET.fromstring(details_xml(REPORT))

    wns = root.find(f"{NS}WnsOutcomeCounts")
    assert wns is not None
    entries = [(o.findtext(f"{NS}Name"), o.findtext(f"{NS}Count")) for o in wns]
    assert entries == [("Success", "3"), ("WrongToken", "1")]
    assert root.find(f"{NS}ApnsOutcomeCounts") is None  # no outcomes: left out, not empty
    assert all(len(element) for element in root if element.tag.endswith("OutcomeCounts"))


def test_minimal_details_omit_every_optional_element() -> None:
    report = NotificationReport(
        "n", "https://h/hub/messages/n", NotificationState.ENQUEUED, ENQUEUED
    )

    root = ET.fromstring(details_xml(report))

    assert children(root) == [
        "NotificationId",
        "Location",
        "State",
        "EnqueueTime",
        "NotificationBody",
        "TargetPlatforms",
    ]


@pytest.mark.parametrize(
    ("state", "wire"),
    [
        (NotificationState.SCHEDULED, "Enqueued"),  # .NET has no Scheduled
        (NotificationState.CANCELLED, "Cancelled"),  # .NET's spelling, not the docs' Canceled
        (NotificationState.NO_TARGET_FOUND, "NoTargetFound"),
        (NotificationState.ABANDONED, "Abandoned"),
    ],
)
def test_states_use_names_net_can_read(state: NotificationState, wire: str) -> None:
    report = NotificationReport("n", "l", state, ENQUEUED)

    assert ET.fromstring(details_xml(report)).findtext(f"{NS}State") == wire
    assert details_json(report)["state"] == state.value


@given(text=st.text(max_size=100))
def test_any_text_makes_well_formed_details(text: str) -> None:
    report = NotificationReport(
        text, text, NotificationState.COMPLETED, ENQUEUED, body=text, tags=text
    )

    root = ET.fromstring(details_xml(report))

    assert root.findtext(f"{NS}NotificationId") is not None


def test_details_json_mirrors_the_js_sdk_shape_and_pages_failures() -> None:
    failures = [
        FailedDelivery(Platform.WNS, f"https://wns/{i}", N.WRONG_TOKEN, "404", f"inst-{i}")
        for i in range(MAX_FAILURES_PER_PAGE + 5)
    ]
    report = replace(REPORT, failures=failures)

    data = details_json(report)

    assert data["wnsOutcomeCounts"] == [
        {"state": "Success", "count": 3},
        {"state": "WrongToken", "count": 1},
    ]
    assert "apnsOutcomeCounts" not in data
    assert data["pnsErrorDetailsUrl"] == REPORT.pns_error_details_uri
    assert data["tags"] == "a && !b"
    assert data["startTime"] == "2015-11-02T21:19:43.9926990Z"
    assert len(data["failures"]["items"]) == MAX_FAILURES_PER_PAGE
    assert data["failures"]["items"][0] == {
        "platform": "wns",
        "handle": "https://wns/0",
        "installationId": "inst-0",
        "template": None,
        "outcome": "WrongToken",
        "reason": "404",
    }
    assert data["failures"]["more"] is True


def test_details_json_last_page_says_no_more() -> None:
    one = [FailedDelivery(Platform.APNS, "00fe", N.EXPIRED_CHANNEL, "410 Unregistered")]

    last = details_json(
        NotificationReport("n", "l", NotificationState.COMPLETED, ENQUEUED, failures=one)
    )
    paged = details_json(
        NotificationReport(
            "n",
            "l",
            NotificationState.COMPLETED,
            ENQUEUED,
            failures=one,
            failures_continuation="tok",
        )
    )

    assert last["failures"] == {
        "items": [last["failures"]["items"][0]],
        "more": False,
        "continuationToken": None,
    }
    assert paged["failures"]["more"] is True
    assert paged["failures"]["continuationToken"] == "tok"


# --- test send --------------------------------------------------------------------------------


def test_test_send_outcome_lists_each_registration() -> None:
    results = [
        RegistrationResult(Platform.APNS, "00fe", "inst-1", N.SUCCESS),
        RegistrationResult(Platform.WNS, "https://wns/1", "inst-2", N.BAD_CHANNEL, "404 & gone"),
    ]

    root = ET.fromstring(notification_outcome_xml(results))

    assert root.tag == f"{NS}NotificationOutcome"
    assert children(root) == ["Success", "Failure", "Results"]
    assert (root.findtext(f"{NS}Success"), root.findtext(f"{NS}Failure")) == ("1", "1")
    rows = root.findall(f"{NS}Results/{NS}RegistrationResult")
    assert [children(row) for row in rows] == [
        ["ApplicationPlatform", "PnsHandle", "RegistrationId", "Outcome"]
    ] * 2
    assert [row.findtext(f"{NS}ApplicationPlatform") for row in rows] == ["apple", "windows"]
    assert rows[0].findtext(f"{NS}Outcome") == SUCCESS_TEXT
    assert rows[1].findtext(f"{NS}Outcome") == "BadChannel: 404 & gone"


def test_empty_test_send_still_has_a_nil_results_element() -> None:
    body = notification_outcome_xml([])
    root = ET.fromstring(body)

    results = root.find(f"{NS}Results")
    assert results is not None
    assert len(results) == 0
    assert results.get(f"{{{XSI_NAMESPACE}}}nil") == "true"
    assert (root.findtext(f"{NS}Success"), root.findtext(f"{NS}Failure")) == ("0", "0")


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "platform", "status", "reason", "name"),
    [
        (K.DELIVERED, Platform.APNS, 200, "", N.SUCCESS),
        (K.EXPIRED_HANDLE, Platform.APNS, 410, "Unregistered", N.EXPIRED_CHANNEL),
        (K.INVALID_HANDLE, Platform.APNS, 400, "BadDeviceToken", N.WRONG_TOKEN),
        (K.INVALID_HANDLE, Platform.FCMV1, 400, "INVALID_ARGUMENT", N.WRONG_TOKEN),
        (K.INVALID_HANDLE, Platform.WNS, 404, "", N.BAD_CHANNEL),
        (K.INVALID_HANDLE, Platform.BROWSER, 403, "VapidPkHashMismatch", N.BAD_CHANNEL),
        (K.THROTTLED, Platform.WNS, 406, "channelthrottled", N.THROTTLED),
        (K.TRANSIENT, Platform.FCMV1, None, "connection lost", N.PNS_UNREACHABLE),
        (K.TRANSIENT, Platform.FCMV1, 503, "UNAVAILABLE", N.PNS_UNAVAILABLE),
        (K.TRANSIENT, Platform.APNS, 500, "InternalServerError", N.PNS_SERVER_ERROR),
        (K.PAYLOAD_REJECTED, Platform.APNS, 413, "PayloadTooLarge", N.INVALID_NOTIFICATION_SIZE),
        (
            K.PAYLOAD_REJECTED,
            Platform.WNS,
            None,
            "payload is 5001 bytes, limit 5000",
            N.INVALID_NOTIFICATION_SIZE,
        ),
        (K.PAYLOAD_REJECTED, Platform.APNS, 400, "BadPriority", N.PNS_INTERFACE_ERROR),
        (K.CREDENTIALS_REJECTED, Platform.ADM, 401, "", N.INVALID_CREDENTIALS),
    ],
)
def test_outcome_kinds_map_to_nh_names(
    kind: OutcomeKind, platform: Platform, status: int | None, reason: str, name: NhOutcome
) -> None:
    assert nh_outcome(Outcome(kind, "h", status, reason), platform) is name


def test_oversize_render_failures_count_as_invalid_notification_size() -> None:
    failure = RenderFailure(
        "h",
        "Template 't': InvalidNotificationSize: the apple payload is 5000 bytes, limit 4096",
        "t",
    )

    assert nh_outcome(failure.to_outcome(), Platform.APNS) is N.INVALID_NOTIFICATION_SIZE


@pytest.mark.parametrize(
    ("format", "reached", "text"),
    [
        (SendFormat.APPLE, [Platform.APNS], "apple"),
        (SendFormat.GCM, [Platform.FCMV1], "gcm"),
        (SendFormat.TEMPLATE, [Platform.WNS, Platform.APNS], "appletemplate,windowstemplate"),
        (SendFormat.TEMPLATE, [], "template"),
    ],
)
def test_target_platforms_text(format: SendFormat, reached: list[Platform], text: str) -> None:
    assert target_platforms_text(format, reached) == text
