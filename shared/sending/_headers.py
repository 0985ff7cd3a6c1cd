"""Checks on a send's headers and native payload, before anything is stored or queued.

A bad header or payload would fail at every device, so it is a 400 here instead of thousands of
identical rejections later. The senders check again per message; these checks cover what the
NH SDKs validate plus what NH documents as required (``X-WNS-Type`` for ``windows``).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from shared.errors import BadRequestError
from shared.http import is_field_value
from shared.pns.xiaomi import message_form
from shared.request_json import parse_request_json
from shared.sending.formats import BAIDU_MESSAGE_TYPE, WNS_RAW, WNS_TYPES, SendFormat

_MAX_DATE_LENGTH = 64
_APNS_PUSH_TYPES = frozenset(
    {"alert", "background", "voip", "complication", "fileprovider", "liveactivity"}
    | {"location", "mdm", "pushtotalk", "widgets", "controls"}
)
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_URGENCIES = frozenset({"very-low", "low", "normal", "high"})
# What every PNS accepts in a header value, over HTTP/1.1 and HTTP/2 alike.


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _one_of(*values: str) -> Callable[[str], bool]:
    return frozenset(values).__contains__


# Lower-case header name -> (is the lower-cased value acceptable?, what it must be).
_RULES: Mapping[str, tuple[Callable[[str], bool], str]] = MappingProxyType(
    {
        "apns-push-type": (_APNS_PUSH_TYPES.__contains__, "an APNs push type such as alert"),
        "apns-priority": (_one_of("1", "5", "10"), "1, 5 or 10"),
        "apns-expiration": (str.isdigit, "a UNIX time in seconds"),
        "apns-collapse-id": (lambda v: 0 < len(v.encode()) <= 64, "1 to 64 bytes"),
        "apns-id": (_is_uuid, "a UUID"),
        "x-wns-type": (WNS_TYPES.__contains__, ", ".join(sorted(WNS_TYPES))),
        "x-wns-cache-policy": (_one_of("cache", "no-cache"), "cache or no-cache"),
        "x-wns-requestforstatus": (_one_of("true", "false"), "true or false"),
        "x-wns-ttl": (str.isdigit, "a number of seconds"),
        "x-wns-priority": (_one_of("1", "2", "3", "4"), "1, 2, 3 or 4"),
        "ttl": (str.isdigit, "a number of seconds"),
        "urgency": (_URGENCIES.__contains__, "very-low, low, normal or high"),
        "topic": (lambda v: 0 < len(v) <= 32 and _BASE64URL.issuperset(v), "1-32 base64url"),
        BAIDU_MESSAGE_TYPE: (_one_of("0", "1"), "0 (a message) or 1 (a notification)"),
    }
)
# Values compared case-insensitively are stored lower-cased.
_LOWERED = frozenset({"apns-push-type", "x-wns-type", "x-wns-cache-policy"})
_LOWERED |= {"x-wns-requestforstatus", "urgency"}


def pns_header_problem(name: str, value: str) -> str | None:
    """What is wrong with one pass-through header (lower-case name) for its PNS, or None."""
    if not is_field_value(value):
        return f"the header {name} must hold only visible ASCII, spaces and tabs"
    rule = _RULES.get(name)
    normal = value.lower() if name in _LOWERED else value
    if rule is not None and not rule[0](normal):
        return f"the header {name} has the value '{value[:64]}': it must be {rule[1]}"
    return None


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The pass-through headers with their values checked (and lower-cased where the PNS
    compares them so); a 400 naming the first bad one."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        problem = pns_header_problem(name, value)
        if problem is not None:
            raise BadRequestError(problem[0].upper() + problem[1:] + ".")
        checked[name] = value.lower() if name in _LOWERED else value
    return checked


def apply_legacy_apple(headers: dict[str, str], request_headers: Mapping[str, str]) -> None:
    """NH's older APNs headers, used when the ``apns-*`` header they stand for is absent:
    ``ServiceBusNotification-Apns-Expiry`` (a W3C date) and ``X-Apns-Priority``."""
    expiry = request_headers.get("servicebusnotification-apns-expiry")
    if expiry and "apns-expiration" not in headers:
        moment = parse_date(expiry, "ServiceBusNotification-Apns-Expiry")
        headers["apns-expiration"] = str(max(0, int(moment.timestamp())))
    priority = request_headers.get("x-apns-priority")
    if priority and "apns-priority" not in headers:
        headers["apns-priority"] = priority.strip()


def parse_date(text: str, header: str) -> datetime:
    """An ISO 8601 date-time; without a zone it is UTC (the .NET and Java SDKs send none)."""
    try:
        if len(text) > _MAX_DATE_LENGTH:
            raise ValueError(text)
        moment = datetime.fromisoformat(text.strip())
        # An offset can move year 1 or 9999 out of range (OverflowError).
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise BadRequestError(
            f"The header {header} has the value '{text[:64]}': it must be an ISO 8601 date-time."
        ) from exc


def check_native_payload(format: SendFormat, payload: bytes, headers: Mapping[str, str]) -> None:
    """A 400 when the payload cannot be what the format's PNS takes."""
    if format is SendFormat.WINDOWS:
        if headers.get("x-wns-type") != WNS_RAW:
            _check_xml(payload)
        return
    if format is SendFormat.BROWSER:
        return  # a Web Push payload is any bytes the service worker understands
    document = load_json_object(payload, f"An {format.value} notification")
    message = document.get("message")
    if format is SendFormat.FCMV1 and not isinstance(message, dict):
        raise BadRequestError(
            'An fcmv1 notification must be {"message": {...}}, an FCM v1 Message object.'
        )
    if format is SendFormat.XIAOMI:
        try:
            message_form(payload)
        except ValueError as exc:
            raise BadRequestError(f"A xiaomi notification is not valid: {exc}.") from exc
    if format is SendFormat.GCM and "message" in document:
        raise BadRequestError(
            "A gcm notification is a legacy FCM payload; send an FCM v1 "
            '{"message": {...}} body with ServiceBusNotification-Format: fcmv1.'
        )


def load_json_object(payload: bytes, what: str, *, numbers_as_text: bool = False) -> dict[str, Any]:
    """A JSON object; with ``numbers_as_text`` its numbers are kept as the text written."""
    document = parse_request_json(payload, what, numbers_as_text=numbers_as_text)
    if not isinstance(document, dict):
        raise BadRequestError(f"{what} must be a JSON object.")
    return document


def _check_xml(payload: bytes) -> None:
    if b"<!DOCTYPE" in payload:
        raise BadRequestError("A windows notification must not contain a DOCTYPE.")
    try:
        ET.fromstring(payload)
    except (ET.ParseError, ValueError) as exc:
        raise BadRequestError(
            f"A windows notification must be XML unless X-WNS-Type is wns/raw: {_short(exc)}"
        ) from exc


def _short(exc: BaseException) -> str:
    return str(exc)[:120] or type(exc).__name__
