"""Parsing a send: formats, pass-through headers, targets, flags, schedule, storage round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.sending.builders import (
    APNS_TOKEN,
    APPLE_BODY,
    ENDPOINT,
    NOW,
    TOAST,
    WNS_CHANNEL,
    http,
    send,
)

from shared import tags
from shared.errors import BadRequestError, HeraldError, PayloadTooLargeError
from shared.pns.base import Platform, WebPushKeys
from shared.sending.formats import SendFormat, delivery_platform
from shared.sending.request import DirectDevice, SendRequest, SendRoute, parse_send_request

FCM_V1_BODY = b'{"message":{"notification":{"title":"t","body":"b"}}}'
GCM_BODY = b'{"data":{"k":"v"}}'
BAIDU_BODY = b'{"title":"Title","description":"Description"}'  # as NH's .NET tests send
XIAOMI_BODY = b'{"title":"Title","description":"Description","payload":"p"}'

# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "extra", "platforms"),
    [
        ("apple", APPLE_BODY, {}, (Platform.APNS,)),
        ("Apple", APPLE_BODY, {}, (Platform.APNS,)),
        ("gcm", GCM_BODY, {}, (Platform.FCMV1,)),
        ("fcm", GCM_BODY, {}, (Platform.FCMV1,)),
        ("fcmv1", FCM_V1_BODY, {}, (Platform.FCMV1,)),
        ("FcmV1", FCM_V1_BODY, {}, (Platform.FCMV1,)),
        ("windows", TOAST, {"X_WNS_Type": "wns/toast"}, (Platform.WNS,)),
        ("browser", b'{"title":"t"}', {}, (Platform.BROWSER,)),
        ("adm", b'{"data":{"k":"v"}}', {}, (Platform.ADM,)),
        ("baidu", BAIDU_BODY, {}, (Platform.BAIDU,)),
        ("xiaomi", XIAOMI_BODY, {}, (Platform.XIAOMI,)),
        ("template", b'{"msg":"hi"}', {}, tuple(Platform)),
    ],
)
def test_each_format_reaches_its_platforms(
    name: str, body: bytes, extra: dict[str, str], platforms: tuple[Platform, ...]
) -> None:
    request = send(name, body, extra)

    assert request.platforms == platforms
    assert request.payload == body


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("windowsphone", "MPNS"),
        ("nokiax", "retired"),
        ("mpns", "unknown"),
        ("", "required"),
    ],
)
def test_unsupported_formats_are_named_in_a_400(name: str, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        send(name, APPLE_BODY)


def test_gcm_installations_are_delivered_by_fcm_v1() -> None:
    assert delivery_platform("gcm") is Platform.FCMV1
    assert delivery_platform("FCMV1") is Platform.FCMV1
    assert delivery_platform("baidu") is Platform.BAIDU
    assert delivery_platform("Xiaomi") is Platform.XIAOMI
    assert delivery_platform("mpns") is None


def test_a_baidu_send_carries_its_message_type_header_checked() -> None:
    request = send("baidu", BAIDU_BODY, {"X_Baidu_Message_Type": "1", "apns_priority": "5"})
    assert request.headers == {"x-baidu-message-type": "1"}
    with pytest.raises(BadRequestError, match="x-baidu-message-type"):
        send("baidu", BAIDU_BODY, {"X_Baidu_Message_Type": "2"})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"title":"t"}', "non-blank 'description'"),
        (b'{"title":"t","description":"d","colour":"red"}', "'colour' is not a Mi Push"),
        (b'{"pass_through":"x","payload":"p"}', "'pass_through' must be an integer"),
        (b'["payload"]', "JSON object"),
    ],
)
def test_a_xiaomi_body_that_is_no_mi_push_message_is_a_400(body: bytes, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        send("xiaomi", body)


# --- payloads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("apple", b"not json", "not valid JSON"),
        ("apple", b"[1]", "JSON object"),
        ("apple", b'{"a": NaN}', "not valid JSON"),
        ("fcmv1", GCM_BODY, '"message"'),
        ("fcmv1", b'{"message": "x"}', '"message"'),
        ("gcm", FCM_V1_BODY, "fcmv1"),
        ("adm", b"[" * 60_000, "nested more than 64"),
        ("template", b'{"msg": {"nested": 1}}', "flat JSON object"),
        ("template", b'{"msg": null}', "flat JSON object"),
        ("template", b'["a"]', "JSON object"),
    ],
)
def test_payloads_that_no_device_could_take_are_a_400(name: str, body: bytes, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        send(name, body)


def test_windows_needs_xml_unless_raw() -> None:
    with pytest.raises(BadRequestError, match="must be XML"):
        send("windows", b"<toast>", X_WNS_Type="wns/toast")
    with pytest.raises(BadRequestError, match="DOCTYPE"):
        send("windows", b"<!DOCTYPE x []><toast/>", X_WNS_Type="wns/toast")

    raw = send("windows", b"\x00\xffany bytes", X_WNS_Type="wns/raw")

    assert raw.payload == b"\x00\xffany bytes"


def test_template_numbers_are_kept_as_written() -> None:
    request = send("template", b'{"msg": "hi", "badge": 40, "ratio": 1.50}')

    assert request.properties == {"msg": "hi", "badge": "40", "ratio": "1.50"}


def test_empty_body_is_a_400_and_over_64_kb_a_413() -> None:
    with pytest.raises(BadRequestError, match="empty"):
        send("apple", b"  ")
    with pytest.raises(PayloadTooLargeError, match="64 Kb"):
        send("browser", b"x" * (64 * 1024 + 1))


@pytest.mark.parametrize(
    ("name", "body", "extra", "limit"),
    [
        ("apple", b'{"aps":{"alert":"%s"}}', {}, 4096),
        ("apple", b'{"aps":{"alert":"%s"}}', {"apns_push_type": "voip"}, 5120),
        ("fcmv1", b'{"message":{"data":{"k":"%s"}}}', {}, 4096),
        ("windows", b"<toast>%s</toast>", {"X_WNS_Type": "wns/toast"}, 5000),
        ("browser", b'{"t":"%s"}', {}, 3993),
        ("adm", b'{"data":{"k":"%s"}}', {}, 6144),
        ("baidu", b'{"title":"t","description":"%s"}', {}, 4096),
        ("xiaomi", b'{"title":"t","description":"d","payload":"%s"}', {}, 4096),
    ],
)
def test_native_payload_over_the_pns_limit_is_a_413(
    name: str, body: bytes, extra: dict[str, str], limit: int
) -> None:
    filler = limit - len(body % b"")
    assert len(send(name, body % (b"x" * filler), extra).payload) == limit

    with pytest.raises(PayloadTooLargeError, match=f"limit {limit}"):
        send(name, body % (b"x" * (filler + 1)), extra)


# --- pass-through headers --------------------------------------------------------------------


def test_apple_passes_apns_headers_but_not_the_topic() -> None:
    request = send(
        "apple",
        APPLE_BODY,
        apns_priority="5",
        apns_push_type="Background",
        apns_collapse_id="c1",
        apns_topic="com.other.app",
        X_WNS_Type="wns/toast",
        TTL="60",
    )

    assert request.headers == {
        "apns-priority": "5",
        "apns-push-type": "background",
        "apns-collapse-id": "c1",
    }


@pytest.mark.parametrize(
    ("name", "body", "header", "value"),
    [
        ("apple", APPLE_BODY, "apns-collapse-id", "\ufffd\ufffd"),  # bytes that were not UTF-8
        ("apple", APPLE_BODY, "apns-collapse-id", "caf\u00e9"),
        ("apple", APPLE_BODY, "apns-anything", "a\x01b"),
        ("apple", APPLE_BODY, "X-Apns-Priority", "1\u0660"),
        ("windows", TOAST, "X-WNS-Tag", "del\x7fhere"),
        ("browser", b"{}", "Topic", "\u00ff"),
    ],
)
def test_pass_through_header_values_must_be_printable_ascii(
    name: str, body: bytes, header: str, value: str
) -> None:
    with pytest.raises(BadRequestError, match="visible ASCII"):
        send(name, body, {"X_WNS_Type": "wns/toast", header: value})


SEND_HEADERS = [
    "apns-collapse-id",
    "apns-priority",
    "apns-push-type",
    "apns-expiration",
    "apns-id",
    "apns-anything",
    "X-Apns-Priority",
    "ServiceBusNotification-Apns-Expiry",
    "X-WNS-Type",
    "X-WNS-Tag",
    "X-WNS-TTL",
    "TTL",
    "Urgency",
    "Topic",
    "ServiceBusNotification-Tags",
    "ServiceBusNotification-DeviceHandle",
    "P256DH",
    "Auth",
]
FORMAT_BODIES = {
    "apple": APPLE_BODY,
    "windows": TOAST,
    "browser": b"{}",
    "fcmv1": FCM_V1_BODY,
    "adm": b'{"data":{}}',
}
# Template property values as JSON text, lone surrogates and huge numbers among them.
property_values = (
    st.text(max_size=40).map(json.dumps)
    | st.integers().map(str)
    | st.sampled_from(['"\\ud800"', '"a\\udfff"', '"\\ud83d\\ude00"', "1e999", "9" * 5000])
)
template_bodies = st.dictionaries(st.text(max_size=12), property_values, max_size=6).map(
    lambda props: ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in props.items()) + "}").encode()
)


@given(
    name=st.sampled_from([*FORMAT_BODIES, "template"]),
    template_body=template_bodies,
    headers=st.dictionaries(st.sampled_from(SEND_HEADERS), st.text(max_size=60), max_size=4),
    direct=st.booleans(),
)
def test_a_send_that_parses_can_be_stored_and_read_back(
    name: str, template_body: bytes, headers: dict[str, str], direct: bool
) -> None:
    """Whatever the headers and properties hold, a send is a 4xx or it survives storage."""
    body = template_body if name == "template" else FORMAT_BODIES[name]
    request = http(
        {**headers, "ServiceBusNotification-Format": name},
        body,
        {"direct": ""} if direct else None,
    )
    try:
        parsed = parse_send_request(request, SendRoute.MESSAGES, max_tags=20, now=NOW)
    except (BadRequestError, PayloadTooLargeError):
        return
    stored = parsed.to_json().encode()  # as the notifications row holds it
    assert SendRequest.from_json(stored) == parsed


def test_legacy_apple_headers_become_apns_headers() -> None:
    request = send(
        "apple",
        APPLE_BODY,
        ServiceBusNotification_Apns_Expiry="2030-01-01T00:00:00",
        X_Apns_Priority="10",
    )

    assert request.headers == {"apns-expiration": "1893456000", "apns-priority": "10"}


def test_explicit_apns_headers_win_over_legacy_ones() -> None:
    request = send("apple", APPLE_BODY, apns_priority="5", X_Apns_Priority="10")

    assert request.headers == {"apns-priority": "5"}


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("apns_priority", "7"),
        ("apns_expiration", "tomorrow"),
        ("apns_push_type", "shout"),
        ("apns_collapse_id", "x" * 65),
        ("apns_id", "not-a-uuid"),
        ("X_Apns_Priority", "3"),
        ("ServiceBusNotification_Apns_Expiry", "soon"),
        ("ServiceBusNotification_Apns_Expiry", "0001-01-01T00:00:00+01:00"),
    ],
)
def test_bad_apns_header_values_are_a_400(header: str, value: str) -> None:
    with pytest.raises(BadRequestError, match="must be"):
        send("apple", APPLE_BODY, {header: value})


def test_windows_requires_a_valid_x_wns_type_and_passes_x_wns_headers() -> None:
    with pytest.raises(BadRequestError, match="needs the X-WNS-Type"):
        send("windows", TOAST)
    with pytest.raises(BadRequestError, match="wns/badge"):
        send("windows", TOAST, X_WNS_Type="wns/popup")
    with pytest.raises(BadRequestError, match="1, 2, 3 or 4"):
        send("windows", TOAST, X_WNS_Type="wns/toast", X_WNS_Priority="9")

    request = send(
        "windows", TOAST, X_WNS_Type="WNS/Toast", X_WNS_TTL="60", X_WNS_Tag="t1", apns_priority="5"
    )

    assert request.headers == {"x-wns-type": "wns/toast", "x-wns-ttl": "60", "x-wns-tag": "t1"}


def test_browser_passes_web_push_options() -> None:
    request = send("browser", b"{}", TTL="60", Urgency="High", Topic="news", apns_priority="5")

    assert request.headers == {"ttl": "60", "urgency": "high", "topic": "news"}
    with pytest.raises(BadRequestError, match="base64url"):
        send("browser", b"{}", Topic="a topic with spaces")


def test_fcm_adm_and_template_sends_pass_no_headers() -> None:
    assert send("fcmv1", FCM_V1_BODY, apns_priority="5").headers == {}
    assert send("adm", b"{}", X_WNS_Type="wns/raw").headers == {}
    assert send("template", b"{}", apns_priority="5").headers == {}


# --- targets and flags ------------------------------------------------------------------------


def test_tag_expression_is_parsed_and_kept_as_sent() -> None:
    request = send("apple", APPLE_BODY, ServiceBusNotification_Tags=" likes_hockey && !muted ")

    assert request.tag_expression == "likes_hockey && !muted"
    assert request.expression == tags.parse("likes_hockey && !muted")
    assert not request.is_direct


def test_no_tags_is_a_broadcast_and_tags_respect_the_hub_limit() -> None:
    assert send("apple", APPLE_BODY).expression is None
    assert send("apple", APPLE_BODY, ServiceBusNotification_Tags="  ").expression is None
    with pytest.raises(BadRequestError):
        send("apple", APPLE_BODY, max_tags=2, ServiceBusNotification_Tags="a || b || c")
    with pytest.raises(BadRequestError):
        send("apple", APPLE_BODY, ServiceBusNotification_Tags="a &&")


@pytest.mark.parametrize(
    ("query", "test"),
    [
        ({}, False),
        ({"test": ""}, True),
        ({"test": "true"}, True),
        ({"Test": "True"}, True),
        ({"test": "false"}, False),
        ({"test": "0"}, False),
    ],
)
def test_test_flag_counts_by_presence(query: dict[str, str], test: bool) -> None:
    assert send("apple", APPLE_BODY, query=query).test is test


def test_direct_send_takes_the_device_handle() -> None:
    for query in ({"direct": ""}, {"direct": "true", "test": "true"}):
        request = send(
            "apple", APPLE_BODY, query=query, ServiceBusNotification_DeviceHandle=APNS_TOKEN
        )

        assert request.devices == (DirectDevice(APNS_TOKEN),)
        assert request.is_direct
        assert not request.test  # JS never parses a test outcome for a direct send


def test_browser_direct_send_takes_the_keys_from_headers() -> None:
    request = send(
        "browser",
        b"{}",
        query={"direct": "true"},
        ServiceBusNotification_DeviceHandle=ENDPOINT,
        P256DH="BPkey",
        Auth="authkey",
    )

    assert request.devices == (DirectDevice(ENDPOINT, WebPushKeys("BPkey", "authkey")),)
    with pytest.raises(BadRequestError, match="P256DH and Auth"):
        send("browser", b"{}", query={"direct": ""}, ServiceBusNotification_DeviceHandle=ENDPOINT)


@pytest.mark.parametrize(
    ("format", "body", "query", "headers", "words"),
    [
        ("apple", APPLE_BODY, {"direct": ""}, {}, "needs the ServiceBusNotification-DeviceHandle"),
        ("apple", APPLE_BODY, {}, {"ServiceBusNotification_DeviceHandle": APNS_TOKEN}, "direct"),
        (
            "apple",
            APPLE_BODY,
            {"direct": ""},
            {"ServiceBusNotification_DeviceHandle": APNS_TOKEN, "ServiceBusNotification_Tags": "a"},
            "cannot also carry",
        ),
        (
            "template",
            b"{}",
            {"direct": ""},
            {"ServiceBusNotification_DeviceHandle": "t"},
            "template",
        ),
        ("apple", APPLE_BODY, {"direct": ""}, {"ServiceBusNotification_DeviceHandle": "zz"}, "hex"),
        (
            "apple",
            APPLE_BODY,
            {"direct": ""},
            {"ServiceBusNotification_DeviceHandle": "a b"},
            "printable",
        ),
        (
            "windows",
            TOAST,
            {"direct": ""},
            {
                "ServiceBusNotification_DeviceHandle": "dm3p.notify.windows.com",
                "X_WNS_Type": "wns/toast",
            },
            "https URL",
        ),
    ],
)
def test_direct_send_mistakes_are_a_400(
    format: str, body: bytes, query: dict[str, str], headers: dict[str, str], words: str
) -> None:
    with pytest.raises(BadRequestError, match=words):
        send(format, body, headers, query=query)


def test_windows_direct_send_takes_the_channel_url() -> None:
    request = send(
        "windows",
        TOAST,
        query={"direct": ""},
        ServiceBusNotification_DeviceHandle=WNS_CHANNEL,
        X_WNS_Type="wns/toast",
    )

    assert request.devices == (DirectDevice(WNS_CHANNEL),)


# --- scheduled sends --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T22:36:01.196Z", datetime(2026, 11, 24, 22, 36, 1, 196000, tzinfo=UTC)),
        ("2026-11-24T22:36:01", datetime(2026, 11, 24, 22, 36, 1, tzinfo=UTC)),
        ("2026-11-24T23:36:01+01:00", datetime(2026, 11, 24, 22, 36, 1, tzinfo=UTC)),
        ("2026-11-24T22:36:01.1234567Z", datetime(2026, 11, 24, 22, 36, 1, 123456, tzinfo=UTC)),
    ],
)
def test_schedule_time_with_or_without_a_zone(text: str, expected: datetime) -> None:
    request = send(
        "apple", APPLE_BODY, route=SendRoute.SCHEDULED, ServiceBusNotification_ScheduleTime=text
    )

    assert request.schedule_time == expected


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "needs the ServiceBusNotification-ScheduleTime"),
        ({"ServiceBusNotification_ScheduleTime": "2026-11-24T21:00:00Z"}, "not in the future"),
        ({"ServiceBusNotification_ScheduleTime": NOW.isoformat()}, "not in the future"),
        ({"ServiceBusNotification_ScheduleTime": "next tuesday"}, "ISO 8601"),
        # An offset that moves the time past year 9999 (was OverflowError: a 500).
        ({"ServiceBusNotification_ScheduleTime": "9999-12-31T23:59:59-01:00"}, "ISO 8601"),
        (
            {
                "ServiceBusNotification_ScheduleTime": "2026-11-25T00:00:00Z",
                "ServiceBusNotification_DeviceHandle": APNS_TOKEN,
            },
            "not to device handles",
        ),
    ],
)
def test_scheduled_send_mistakes_are_a_400(headers: dict[str, str], words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        send("apple", APPLE_BODY, headers, route=SendRoute.SCHEDULED)


def test_schedule_time_is_ignored_outside_the_scheduled_route() -> None:
    request = send("apple", APPLE_BODY, ServiceBusNotification_ScheduleTime="garbage")

    assert request.schedule_time is None


def test_scheduled_sends_are_never_test_sends() -> None:
    later = (NOW + timedelta(days=10)).isoformat()
    request = send(
        "apple",
        APPLE_BODY,
        route=SendRoute.SCHEDULED,
        query={"test": ""},
        ServiceBusNotification_ScheduleTime=later,
    )

    assert not request.test
    assert request.schedule_time == NOW + timedelta(days=10)


# --- storage round trip ------------------------------------------------------------------------


def test_every_kind_of_send_survives_to_json_and_back() -> None:
    later = (NOW + timedelta(hours=1)).isoformat()
    requests = [
        send("apple", APPLE_BODY, apns_priority="5", ServiceBusNotification_Tags="a && !b"),
        send("template", b'{"msg":"h\xc3\xa9"}', query={"test": ""}),
        send("windows", b"\xff\x00raw", X_WNS_Type="wns/raw"),
        send(
            "apple",
            APPLE_BODY,
            route=SendRoute.SCHEDULED,
            ServiceBusNotification_ScheduleTime=later,
        ),
        SendRequest(
            SendFormat.BROWSER,
            b"{}",
            devices=(DirectDevice(ENDPOINT, WebPushKeys("p", "a")), DirectDevice(ENDPOINT + "2")),
        ),
    ]
    for request in requests:
        again = SendRequest.from_json(request.to_json())

        assert again == request
        assert again.platforms == request.platforms


def test_stored_expression_reads_back_under_a_lower_hub_limit() -> None:
    stored = send("apple", APPLE_BODY, ServiceBusNotification_Tags="a || b || c").to_json()

    assert SendRequest.from_json(stored).expression == tags.parse("a || b || c")


@pytest.mark.parametrize("text", ["", "[]", '{"v": 2}', '{"v": 1, "format": "pigeon", "body": ""}'])
def test_unreadable_stored_requests_are_a_herald_error(text: str) -> None:
    with pytest.raises(HeraldError, match="unreadable"):
        SendRequest.from_json(text)


@given(
    properties=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5),
    expression=st.sampled_from([None, "a", "a && !(b || c)", "$UserId:{bob}"]),
    test=st.booleans(),
)
def test_template_sends_round_trip(
    properties: dict[str, str], expression: str | None, test: bool
) -> None:
    request = SendRequest(
        SendFormat.TEMPLATE,
        b"{}",
        tag_expression=expression,
        expression=tags.parse_optional(expression),
        test=test,
        properties=properties,
    )

    assert SendRequest.from_json(request.to_json()) == request
