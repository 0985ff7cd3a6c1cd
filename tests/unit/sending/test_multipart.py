"""Batch direct send bodies: the SDKs' forms, the docs' lenient form, malformed input, fuzz."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.sending.builders import APPLE_BODY, ENDPOINT, NOW, http

from shared.errors import BadRequestError, HeraldError, PayloadTooLargeError
from shared.pns.base import WebPushKeys
from shared.sending.multipart import MAX_BATCH_DEVICES, parse_batch
from shared.sending.request import DirectDevice, SendRoute, parse_send_request

JS_TYPE = 'multipart/mixed; boundary = "nh-boundary-05d0"'
DOTNET_TYPE = 'multipart/mixed; boundary="nh-batch-multipart-boundary"'
# Exactly what the JS SDK writes (reference §2.5).
JS_BODY = (
    b"--nh-boundary-05d0\r\n"
    b"Content-type: application/json;charset=utf-8\r\n"
    b"Content-Disposition: inline; name=notification\r\n\r\n"
    b'{"aps":{"alert":"Hello"}}\r\n'
    b"--nh-boundary-05d0\r\n"
    b"Content-type: application/json\r\n"
    b"Content-Disposition: inline; name=devices\r\n\r\n"
    b'["00fe","00fd"]\r\n'
    b"--nh-boundary-05d0--"
)


def body(
    boundary: str,
    parts: Sequence[tuple[str | None, bytes]],
    *,
    newline: bytes = b"\r\n",
    close: bool = True,
) -> bytes:
    marker = b"--" + boundary.encode()
    out = b"preamble" + newline
    for name, content in parts:
        out += marker + newline
        if name is not None:
            out += b"Content-Disposition: inline; name=" + name.encode() + newline
        out += newline + content + newline
    return out + (marker + b"--" + newline + b"epilogue" if close else b"")


def batch(format: str, content_type: str, raw: bytes) -> list[DirectDevice]:
    all_headers = {"ServiceBusNotification-Format": format, "Content-Type": content_type}
    request = parse_send_request(
        http(all_headers, raw, {"direct": "true"}),
        SendRoute.BATCH,
        max_tags=20,
        now=NOW,
    )
    assert request.is_direct
    return list(request.devices)


def test_js_sdk_body_parses() -> None:
    parsed = parse_batch(JS_TYPE, JS_BODY)

    assert parsed.notification == APPLE_BODY
    assert parsed.notification_type == "application/json;charset=utf-8"
    assert parsed.devices == ("00fe", "00fd")


def test_dotnet_boundary_and_lf_line_endings_parse() -> None:
    raw = body(
        "nh-batch-multipart-boundary",
        [("notification", APPLE_BODY), ("devices", b'["00fe"]')],
        newline=b"\n",
    )

    assert parse_batch(DOTNET_TYPE, raw).devices == ("00fe",)


def test_parts_are_found_by_name_in_any_order_and_by_position_when_unnamed() -> None:
    named = body("b", [("devices", b'["00fe"]'), ("notification", APPLE_BODY)])
    unnamed = body("b", [(None, APPLE_BODY), (None, b'["00fe"]')])

    for raw in (named, unnamed):
        parsed = parse_batch("multipart/mixed; boundary=b", raw)
        assert (parsed.notification, parsed.devices) == (APPLE_BODY, ("00fe",))


def test_docs_single_quoted_device_list_is_accepted() -> None:
    raw = body("b", [("notification", APPLE_BODY), ("devices", b"['Device Token1','Token2']")])

    assert parse_batch("multipart/mixed; boundary=b", raw).devices == ("Device Token1", "Token2")


def test_a_boundary_inside_content_does_not_split_it() -> None:
    tricky = b'{"aps":{"alert":"--b is not a line start"}}'
    raw = body("b", [("notification", tricky), ("devices", b'["00fe"]')])

    assert parse_batch("multipart/mixed; boundary=b", raw).notification == tricky


def test_batch_send_dedupes_handles_and_keeps_their_order() -> None:
    raw = body("b", [("notification", APPLE_BODY), ("devices", b'["00fe","00fd","00fe"]')])

    devices = batch("apple", "multipart/mixed; boundary=b", raw)

    assert devices == [DirectDevice("00fe"), DirectDevice("00fd")]


def test_browser_batch_takes_subscription_objects() -> None:
    devices = json.dumps([{"endpoint": ENDPOINT, "p256dh": "p", "auth": "a"}]).encode()
    raw = body("b", [("notification", b'{"t":1}'), ("devices", devices)])

    assert batch("browser", "multipart/mixed; boundary=b", raw) == [
        DirectDevice(ENDPOINT, WebPushKeys("p", "a"))
    ]
    with pytest.raises(BadRequestError, match="P256DH and Auth"):
        batch(
            "browser",
            "multipart/mixed; boundary=b",
            body("b", [("notification", b"{}"), ("devices", json.dumps([ENDPOINT]).encode())]),
        )


def test_at_most_1000_devices() -> None:
    handles = [f"{i:04x}" for i in range(MAX_BATCH_DEVICES + 1)]
    at_limit = body(
        "b", [("notification", APPLE_BODY), ("devices", json.dumps(handles[:-1]).encode())]
    )
    over = body("b", [("notification", APPLE_BODY), ("devices", json.dumps(handles).encode())])

    assert len(batch("apple", "multipart/mixed; boundary=b", at_limit)) == MAX_BATCH_DEVICES
    with pytest.raises(BadRequestError, match="at most 1000"):
        batch("apple", "multipart/mixed; boundary=b", over)


def test_notification_part_over_64_kb_is_a_413() -> None:
    raw = body("b", [("notification", b"x" * (64 * 1024 + 1)), ("devices", b'["00fe"]')])

    with pytest.raises(PayloadTooLargeError):
        batch("browser", "multipart/mixed; boundary=b", raw)


def test_batch_checks_the_notification_like_any_send() -> None:
    raw = body("b", [("notification", b"not json"), ("devices", b'["00fe"]')])

    with pytest.raises(BadRequestError, match="not valid JSON"):
        batch("apple", "multipart/mixed; boundary=b", raw)


GOOD = [("notification", APPLE_BODY), ("devices", b'["00fe"]')]


@pytest.mark.parametrize(
    ("content_type", "raw", "words"),
    [
        (None, JS_BODY, "multipart/mixed"),
        ("application/json", JS_BODY, "multipart/mixed"),
        ("multipart/mixed", JS_BODY, "boundary"),
        ('multipart/mixed; boundary=""', JS_BODY, "boundary"),
        ("multipart/mixed; boundary=other", JS_BODY, "Could not find a part"),
        ("multipart/mixed; boundary=b", body("b", GOOD, close=False), "closing boundary"),
        ("multipart/mixed; boundary=b", body("b", GOOD[:1]), "no part named 'devices'"),
        ("multipart/mixed; boundary=b", body("b", [("devices", b'["a"]')]), "'notification'"),
        ("multipart/mixed; boundary=b", body("b", [*GOOD, ("devices", b"[]")]), "two parts"),
        ("multipart/mixed; boundary=b", body("b", [(None, APPLE_BODY)]), "Could not find a part"),
        ("multipart/mixed; boundary=b", b"--b\r\nno blank line\r\n--b--", "blank line"),
        ("multipart/mixed; boundary=b", b"--b\r\nbad header\r\n\r\nx\r\n--b--", "header line"),
        ("multipart/mixed; boundary=b", body("b", [GOOD[0], ("devices", b"[]")]), "no device"),
        ("multipart/mixed; boundary=b", body("b", [GOOD[0], ("devices", b'{"a":1}')]), "array"),
        ("multipart/mixed; boundary=b", body("b", [GOOD[0], ("devices", b"[oops")]), "array"),
        ("multipart/mixed; boundary=b", body("b", [GOOD[0], ("devices", b"\xff")]), "UTF-8"),
    ],
)
def test_malformed_batches_are_a_400(content_type: str | None, raw: bytes, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        parse_batch(content_type, raw)


def test_non_string_handles_are_a_400() -> None:
    raw = body("b", [GOOD[0], ("devices", b"[1, 2]")])

    with pytest.raises(BadRequestError, match="as strings"):
        batch("apple", "multipart/mixed; boundary=b", raw)


# --- fuzz: only HeraldError subclasses ever escape --------------------------------------------

_pieces = st.sampled_from(
    [
        b"--b",
        b"--b--",
        b"\r\n",
        b"\n",
        b"Content-Disposition: inline; name=devices",
        b"name=notification",
        b'["00fe"]',
        b"['x']",
        APPLE_BODY,
        b":",
        b" ",
        b"\xff",
        b"[",
        b"{",
    ]
)
_bodies = st.one_of(st.binary(max_size=300), st.lists(_pieces, max_size=20).map(b"".join))
_content_types = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(["multipart/mixed; boundary=b", JS_TYPE, 'multipart/x; boundary="b\\"c"']),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(content_type=_content_types, raw=_bodies)
def test_parse_batch_raises_only_herald_errors(content_type: str | None, raw: bytes) -> None:
    with contextlib.suppress(HeraldError):
        parse_batch(content_type, raw)


_header_names = st.sampled_from(
    [
        "ServiceBusNotification-Format",
        "ServiceBusNotification-Tags",
        "ServiceBusNotification-DeviceHandle",
        "ServiceBusNotification-ScheduleTime",
        "ServiceBusNotification-Apns-Expiry",
        "X-Apns-Priority",
        "apns-priority",
        "apns-push-type",
        "apns-collapse-id",
        "apns-id",
        "X-WNS-Type",
        "X-WNS-TTL",
        "TTL",
        "Topic",
        "P256DH",
        "Auth",
        "Content-Type",
    ]
)
_header_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["apple", "template", "windows", "browser", "fcmv1", "gcm", "wns/raw", "a && b"]
    ),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.dictionaries(_header_names, _header_values, max_size=8),
    query=st.dictionaries(st.sampled_from(["test", "direct", "Direct"]), st.text(max_size=5)),
    raw=_bodies,
    route=st.sampled_from(list(SendRoute)),
)
def test_parse_send_request_raises_only_herald_errors(
    headers: dict[str, str], query: dict[str, str], raw: bytes, route: SendRoute
) -> None:
    with contextlib.suppress(HeraldError):
        parse_send_request(http(headers, raw, query), route, max_tags=6, now=NOW)
