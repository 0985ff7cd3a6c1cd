"""NH response bodies about sends: telemetry ``NotificationDetails`` (XML, or JSON on request)
and the test-send ``NotificationOutcome``.

XML follows what the SDKs parse: the exact namespace (.NET reads it with
DataContractSerializer), elements in .NET's ``DataMember`` order, no empty ``*OutcomeCounts``
element (the JS SDK crashes on one: a platform without outcomes is left out), and a test-send
``<Results>`` that is always present (``i:nil="true"`` when empty, or JS crashes).

The JSON form (``Accept: application/json``) mirrors what the JS SDK makes of the XML
(``notificationId``, ``state``, ``apnsOutcomeCounts: [{state, count}]``, ``pnsErrorDetailsUrl``…)
and adds the failed deliveries, one page at a time::

    "failures": {"items": [{"platform", "handle", "installationId", "template", "outcome",
                            "reason"}],          # at most MAX_FAILURES_PER_PAGE
                 "more": bool,                   # another page exists
                 "continuationToken": str|null}  # the caller's token for that page
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from shared.model.registration import id_field
from shared.model.validation import format_datetime
from shared.pns.base import Platform
from shared.sending.formats import NH_PLATFORM_NAMES, SendFormat
from shared.sending.outcomes import NhOutcome, NotificationState
from shared.templates import xml_escape

NH_NAMESPACE = "http://schemas.microsoft.com/netservices/2010/10/servicebus/connect"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
MAX_FAILURES_PER_PAGE = 100
SUCCESS_TEXT = "The Notification was successfully sent to the Push Notification System"

_ROOT_ATTRIBUTES = f'xmlns="{NH_NAMESPACE}" xmlns:i="{XSI_NAMESPACE}"'
# Platform -> (XML element, JSON field). XML order: Apns 1010, Wns 1012, Adm 1014, then
# PnsErrorDetailsUri 1015, FcmV1 1017, and Browser, Baidu and Xiaomi (which .NET does not read;
# JS does) last.
_BEFORE_URI = (Platform.APNS, Platform.WNS, Platform.ADM)
_AFTER_URI = (Platform.FCMV1, Platform.BROWSER, Platform.BAIDU, Platform.XIAOMI)
_COUNT_NAMES: Mapping[Platform, tuple[str, str]] = MappingProxyType(
    {
        Platform.APNS: ("ApnsOutcomeCounts", "apnsOutcomeCounts"),
        Platform.WNS: ("WnsOutcomeCounts", "wnsOutcomeCounts"),
        Platform.ADM: ("AdmOutcomeCounts", "admOutcomeCounts"),
        Platform.FCMV1: ("FcmV1OutcomeCounts", "fcmV1OutcomeCounts"),
        Platform.BROWSER: ("BrowserOutcomeCounts", "browserOutcomeCounts"),
        Platform.BAIDU: ("BaiduOutcomeCounts", "baiduOutcomeCounts"),
        Platform.XIAOMI: ("XiaomiOutcomeCounts", "xiaomiOutcomeCounts"),
    }
)

Counts = Mapping[Platform, Mapping[NhOutcome, int]]


@dataclass(frozen=True)
class FailedDelivery:
    platform: Platform
    handle: str
    outcome: NhOutcome
    reason: str  # the PNS's words, or why Herald could not send
    installation_id: str | None = None  # None for direct sends
    template: str | None = None


@dataclass(frozen=True)
class NotificationReport:
    """Everything ``GET /{hub}/messages/{id}`` answers about one notification."""

    notification_id: str
    location: str
    state: NotificationState
    enqueue_time: datetime
    start_time: datetime | None = None
    end_time: datetime | None = None
    body: str = ""
    tags: str | None = None  # the tag expression; None for broadcast and direct sends
    target_platforms: str = ""  # see target_platforms_text
    counts: Counts = field(default_factory=dict)
    pns_error_details_uri: str | None = None
    failures: Sequence[FailedDelivery] = ()  # one page, in a stable order
    failures_continuation: str | None = None  # the token of the next page, if any
    events: Mapping[str, int] = field(default_factory=dict)  # app-reported: opened, actioned


@dataclass(frozen=True)
class RegistrationResult:
    """One device's result in a test send (``RegistrationResult`` in NH's XML)."""

    platform: Platform
    handle: str
    registration_id: str
    outcome: NhOutcome
    detail: str = ""


def target_platforms_text(format: SendFormat, reached: Iterable[Platform]) -> str:
    """``TargetPlatforms``: the native format's name, or for a template send NH's
    ``{platform}template`` names of the platforms reached (``template`` when none was)."""
    if format is not SendFormat.TEMPLATE:
        return format.value
    seen = set(reached)
    names = [f"{NH_PLATFORM_NAMES[p]}template" for p in Platform if p in seen]
    return ",".join(names) or "template"


def details_xml(report: NotificationReport) -> bytes:
    parts = [
        f"<NotificationDetails {_ROOT_ATTRIBUTES}>",
        _element("NotificationId", report.notification_id),
        _element("Location", report.location),
        _element("State", report.state.wire_name),
        _element("EnqueueTime", format_datetime(report.enqueue_time)),
    ]
    if report.start_time is not None:
        parts.append(_element("StartTime", format_datetime(report.start_time)))
    if report.end_time is not None:
        parts.append(_element("EndTime", format_datetime(report.end_time)))
    parts.append(_element("NotificationBody", report.body))
    if report.tags is not None:
        parts.append(_element("Tags", report.tags))
    parts.append(_element("TargetPlatforms", report.target_platforms))
    parts += [_counts_xml(p, report.counts.get(p, {})) for p in _BEFORE_URI]
    if report.pns_error_details_uri is not None:
        parts.append(_element("PnsErrorDetailsUri", report.pns_error_details_uri))
    parts += [_counts_xml(p, report.counts.get(p, {})) for p in _AFTER_URI]
    parts.append("</NotificationDetails>")
    return "".join(parts).encode()


def details_json(report: NotificationReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "notificationId": report.notification_id,
        "location": report.location,
        "state": report.state.value,
        "enqueueTime": format_datetime(report.enqueue_time),
    }
    if report.start_time is not None:
        data["startTime"] = format_datetime(report.start_time)
    if report.end_time is not None:
        data["endTime"] = format_datetime(report.end_time)
    data["notificationBody"] = report.body
    if report.tags is not None:
        data["tags"] = report.tags
    data["targetPlatforms"] = report.target_platforms
    for platform in (*_BEFORE_URI, *_AFTER_URI):
        entries = _nonzero(report.counts.get(platform, {}))
        if entries:
            name = _COUNT_NAMES[platform][1]
            data[name] = [{"state": o.value, "count": n} for o, n in entries]
    if report.pns_error_details_uri is not None:
        data["pnsErrorDetailsUrl"] = report.pns_error_details_uri
    if report.events:
        data["events"] = dict(report.events)
    page = report.failures[:MAX_FAILURES_PER_PAGE]
    data["failures"] = {
        "items": [_failure_json(f) for f in page],
        "more": len(report.failures) > len(page) or report.failures_continuation is not None,
        "continuationToken": report.failures_continuation,
    }
    return data


def summary_json(report: NotificationReport, format: SendFormat, failed: int) -> dict[str, Any]:
    """One notification of a listing: its details without the body and the failures, which
    ``GET /{hub}/messages/{id}`` answers; its format, and how many deliveries failed."""
    data = details_json(report)
    del data["notificationBody"], data["failures"]
    return {**data, "format": format.value, "failureCount": failed}


def notification_outcome_xml(results: Sequence[RegistrationResult]) -> bytes:
    """The ``NotificationOutcome`` body of a ``?test`` send."""
    success = sum(1 for r in results if r.outcome is NhOutcome.SUCCESS)
    parts = [
        f"<NotificationOutcome {_ROOT_ATTRIBUTES}>",
        _element("Success", str(success)),
        _element("Failure", str(len(results) - success)),
    ]
    if results:
        parts.append("<Results>")
        parts += [_result_xml(r) for r in results]
        parts.append("</Results>")
    else:
        parts.append('<Results i:nil="true"/>')
    parts.append("</NotificationOutcome>")
    return "".join(parts).encode()


def _result_xml(result: RegistrationResult) -> str:
    if result.outcome is NhOutcome.SUCCESS:
        text = SUCCESS_TEXT
    else:
        text = f"{result.outcome.value}: {result.detail}" if result.detail else result.outcome
    return "".join(
        (
            "<RegistrationResult>",
            _element("ApplicationPlatform", NH_PLATFORM_NAMES[result.platform]),
            _element("PnsHandle", result.handle),
            _element("RegistrationId", result.registration_id),
            _element("Outcome", text),
            "</RegistrationResult>",
        )
    )


def _counts_xml(platform: Platform, counts: Mapping[NhOutcome, int]) -> str:
    entries = _nonzero(counts)
    if not entries:
        return ""  # an empty element would crash the JS SDK
    name = _COUNT_NAMES[platform][0]
    inner = "".join(
        f"<Outcome><Name>{o.value}</Name><Count>{n}</Count></Outcome>" for o, n in entries
    )
    return f"<{name}>{inner}</{name}>"


def _nonzero(counts: Mapping[NhOutcome, int]) -> list[tuple[NhOutcome, int]]:
    return [(o, counts[o]) for o in NhOutcome if counts.get(o, 0) > 0]


def _element(name: str, text: str) -> str:
    return f"<{name}>{xml_escape(text)}</{name}>"


def _failure_json(failure: FailedDelivery) -> dict[str, Any]:
    device = failure.installation_id
    name, shown = id_field(device) if device is not None else ("installationId", None)
    return {
        "platform": failure.platform.value,
        "handle": failure.handle,
        name: shown,
        "template": failure.template,
        "outcome": failure.outcome.value,
        "reason": failure.reason,
    }
