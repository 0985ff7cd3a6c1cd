"""Per-device messages: native pass-through, template rendering per platform, size limits."""

from __future__ import annotations

import base64
import json
import tracemalloc
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.sending.builders import APNS_TOKEN, APPLE_BODY, ENDPOINT, TOAST, WNS_CHANNEL, send

from shared.model.installation import parse_installation
from shared.pns.base import OutcomeKind, Platform, PushMessage, WebPushKeys
from shared.registry.view import delivery_view
from shared.sending.formats import SendFormat
from shared.sending.outcomes import NhOutcome, nh_outcome
from shared.sending.payloads import (
    MAX_RENDERED_TEXT,
    Device,
    DeviceTemplate,
    RenderFailure,
    device_from_view,
    direct_messages,
    messages_for,
)
from shared.sending.request import DirectDevice, SendRequest

KEYS = WebPushKeys("p256dh", "auth")
APNS_TEMPLATE = '{"aps":{"alert":"$(msg)","badge":"#(badge)"}}'
WNS_TEMPLATE = (
    '<toast><visual><binding template="ToastText01">'
    '<text id="1">$(msg)</text></binding></visual></toast>'
)


def template_send(**properties: str) -> SendRequest:
    return send("template", json.dumps(properties).encode())


def device(platform: Platform, *templates: tuple[str, DeviceTemplate], **variables: str) -> Device:
    handle = {Platform.WNS: WNS_CHANNEL, Platform.BROWSER: ENDPOINT}.get(platform, APNS_TOKEN)
    keys = KEYS if platform is Platform.BROWSER else None
    return Device("inst-1", platform, handle, keys, dict(templates), variables)


def only_message(results: list[PushMessage | RenderFailure]) -> PushMessage:
    assert len(results) == 1
    assert isinstance(results[0], PushMessage), results[0]
    return results[0]


# --- native ----------------------------------------------------------------------------------


def test_native_payload_and_headers_pass_through_unchanged() -> None:
    request = send("apple", APPLE_BODY, apns_priority="5")

    message = only_message(messages_for(request, device(Platform.APNS)))

    assert message == PushMessage(APNS_TOKEN, APPLE_BODY, {"apns-priority": "5"})


def test_native_browser_message_carries_the_subscription_keys() -> None:
    request = send("browser", b'{"t":1}', TTL="60")

    message = only_message(messages_for(request, device(Platform.BROWSER)))

    assert message == PushMessage(ENDPOINT, b'{"t":1}', {"ttl": "60"}, KEYS)


def test_gcm_and_fcmv1_sends_both_reach_fcm_devices() -> None:
    fcm = device(Platform.FCMV1)

    for request in (send("gcm", b'{"data":{"k":"v"}}'), send("fcmv1", b'{"message":{}}')):
        assert only_message(messages_for(request, fcm)).payload == request.payload


def test_native_send_skips_devices_of_other_platforms() -> None:
    assert messages_for(send("apple", APPLE_BODY), device(Platform.WNS)) == []
    assert messages_for(send("windows", TOAST, X_WNS_Type="wns/toast"), device(Platform.APNS)) == []


def test_direct_messages_one_per_handle() -> None:
    request = SendRequest(
        SendFormat.BROWSER,
        b"{}",
        devices=(DirectDevice(ENDPOINT, KEYS), DirectDevice("https://x/2", KEYS)),
    )

    assert direct_messages(request) == [
        PushMessage(ENDPOINT, b"{}", {}, KEYS),
        PushMessage("https://x/2", b"{}", {}, KEYS),
    ]


def test_oversize_native_payload_is_a_failure_value() -> None:
    # Parsing refuses it; a request built otherwise (or stored before a limit changed) still
    # fails per device as a value.
    request = SendRequest(SendFormat.APPLE, b"x" * 4097, devices=(DirectDevice(APNS_TOKEN),))

    (failure,) = direct_messages(request)

    assert isinstance(failure, RenderFailure)
    assert failure.to_outcome().kind is OutcomeKind.PAYLOAD_REJECTED
    assert "4097 bytes, limit 4096" in failure.reason


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "platform", [Platform.APNS, Platform.FCMV1, Platform.ADM, Platform.BROWSER]
)
def test_json_platforms_render_valid_json(platform: Platform) -> None:
    template = DeviceTemplate('{"n":{"alert":"$(msg)","badge":"#(badge)","u":"%(msg)"}}')
    request = template_send(msg='He said "hi" & <left>\n', badge="7")

    message = only_message(messages_for(request, device(platform, ("t", template))))

    assert json.loads(message.payload) == {
        "n": {
            "alert": 'He said "hi" & <left>\n',
            "badge": 7,
            "u": "He%20said%20%22hi%22%20%26%20%3Cleft%3E%0A",
        }
    }


def test_wns_template_renders_valid_xml_with_its_headers() -> None:
    template = DeviceTemplate(WNS_TEMPLATE, {"X-WNS-Type": "wns/toast", "X-WNS-Tag": "$(tag)"})
    request = template_send(msg="a < b & c", tag="t1")

    message = only_message(messages_for(request, device(Platform.WNS, ("toast", template))))

    assert ET.fromstring(message.payload).find("./visual/binding/text").text == "a < b & c"  # type: ignore[union-attr]
    assert message.headers == {"x-wns-type": "wns/toast", "x-wns-tag": "t1"}


def test_wns_raw_and_non_json_browser_templates_render_as_text() -> None:
    raw = DeviceTemplate("count=$(n) <not xml", {"X-WNS-Type": "wns/raw"})
    text = DeviceTemplate("Hello $(n)")
    request = template_send(n="5")

    assert (
        only_message(messages_for(request, device(Platform.WNS, ("r", raw)))).payload
        == b"count=5 <not xml"
    )
    assert (
        only_message(messages_for(request, device(Platform.BROWSER, ("b", text)))).payload
        == b"Hello 5"
    )


def test_one_message_per_matching_template_in_name_order() -> None:
    templates = [
        (name, DeviceTemplate('{"aps":{"alert":"' + name + ' $(msg)"}}')) for name in "cab"
    ]
    target = device(Platform.APNS, *templates)
    request = template_send(msg="hi")

    every = messages_for(request, target)
    some = messages_for(request, target, template_matches=lambda name: name != "a")

    assert [json.loads(m.payload)["aps"]["alert"] for m in every] == ["a hi", "b hi", "c hi"]  # type: ignore[union-attr]
    assert [json.loads(m.payload)["aps"]["alert"] for m in some] == ["b hi", "c hi"]  # type: ignore[union-attr]


def test_template_send_reaches_no_device_without_templates() -> None:
    assert messages_for(template_send(msg="hi"), device(Platform.APNS)) == []


def test_notification_properties_win_over_push_variables_whatever_the_case() -> None:
    template = DeviceTemplate('{"aps":{"alert":"$(greeting) $(name)"}}')
    target = device(Platform.APNS, ("t", template), Name="Ada", greeting="Hello")

    alone = only_message(messages_for(template_send(), target))
    overridden = only_message(messages_for(template_send(name="Bob"), target))

    assert json.loads(alone.payload)["aps"]["alert"] == "Hello Ada"
    assert json.loads(overridden.payload)["aps"]["alert"] == "Hello Bob"


def test_apns_template_headers_and_expiry_are_rendered() -> None:
    template = DeviceTemplate(
        APNS_TEMPLATE,
        {"apns-priority": "$(prio)", "apns-topic": "com.other", "X-WNS-Type": "wns/toast"},
        "$(when)",
    )
    request = template_send(msg="hi", badge="1", prio="5", when="2030-01-01T00:00:00Z")

    message = only_message(messages_for(request, device(Platform.APNS, ("t", template))))

    assert message.headers == {"apns-priority": "5", "apns-expiration": "1893456000"}


def test_empty_expiry_render_sends_without_expiration() -> None:
    template = DeviceTemplate(APNS_TEMPLATE, expiry="$(when)")

    message = only_message(
        messages_for(template_send(msg="hi"), device(Platform.APNS, ("t", template)))
    )

    assert message.headers == {}


@pytest.mark.parametrize(
    ("template", "properties", "words"),
    [
        (DeviceTemplate(APNS_TEMPLATE, expiry="$(when)"), {"when": "someday"}, "ISO 8601"),
        (DeviceTemplate('{"aps":{"alert":"$(msg"}}'), {}, "Invalid template expression"),
        (DeviceTemplate("<toast>"), {}, "not valid JSON"),
        (
            DeviceTemplate(APNS_TEMPLATE, {"apns-collapse-id": "$(id)"}),
            {"id": "a\r\nx: y"},
            "visible ASCII",
        ),
        (
            DeviceTemplate(APNS_TEMPLATE, {"X-Custom": "$(id)"}),
            {"id": "a\x01b"},
            "visible ASCII",
        ),
        (
            DeviceTemplate(APNS_TEMPLATE, {"apns-priority": "$(p)"}),
            {"p": "7"},
            "1, 5 or 10",
        ),
        (DeviceTemplate('{"aps":{"alert":"$(msg)"}}'), {"msg": "x" * 5000}, "limit of 4096 bytes"),
    ],
)
def test_a_bad_render_fails_only_that_template(
    template: DeviceTemplate, properties: dict[str, str], words: str
) -> None:
    good = DeviceTemplate('{"aps":{"alert":"ok"}}')
    target = device(Platform.APNS, ("bad", template), ("good", good))

    bad, ok = messages_for(template_send(**properties), target)

    assert isinstance(bad, RenderFailure)
    assert (bad.template, bad.handle) == ("bad", APNS_TOKEN)
    assert words in bad.reason
    assert "Template 'bad'" in bad.reason
    assert isinstance(ok, PushMessage)


@pytest.mark.parametrize(
    ("platform", "limit"),
    [
        (Platform.APNS, 4096),
        (Platform.FCMV1, 4096),
        (Platform.WNS, 5000),
        (Platform.BROWSER, 3993),
        (Platform.ADM, 6144),
    ],
)
def test_rendered_payload_limits_per_platform(platform: Platform, limit: int) -> None:
    if platform is Platform.WNS:
        template = DeviceTemplate("<t>$(v)</t>", {"X-WNS-Type": "wns/toast"})
        overhead = len("<t></t>")
    else:
        template = DeviceTemplate('{"v":"$(v)"}')
        overhead = len('{"v":""}')
    target = device(platform, ("t", template))

    fits = messages_for(template_send(v="x" * (limit - overhead)), target)
    over = messages_for(template_send(v="x" * (limit - overhead + 1)), target)

    assert len(only_message(fits).payload) == limit
    assert isinstance(over[0], RenderFailure)
    assert over[0].to_outcome().kind is OutcomeKind.PAYLOAD_REJECTED


def test_a_worst_case_template_fails_as_too_large_without_being_rendered_whole() -> None:
    # Rendered whole: 2,000 terms of a 60,000-character property, 120 MB.
    template = DeviceTemplate('{"aps":{"alert":"' + "$(a)" * 2000 + '"}}')
    request = template_send(a="x" * 60_000)

    tracemalloc.start()
    try:
        (failure,) = messages_for(request, device(Platform.APNS, ("worst", template)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(failure, RenderFailure)
    assert failure.reason == (
        "Template 'worst': InvalidNotificationSize: the apple payload renders longer than its "
        "limit of 4096 bytes (rendering stopped there)"
    )
    outcome = failure.to_outcome()
    assert outcome.kind is OutcomeKind.PAYLOAD_REJECTED
    assert nh_outcome(outcome, Platform.APNS) is NhOutcome.INVALID_NOTIFICATION_SIZE
    assert peak < 1_000_000


@pytest.mark.parametrize(
    ("template", "what"),
    [
        (DeviceTemplate(APNS_TEMPLATE, {"apns-collapse-id": "$(a)$(a)"}), "apns-collapse-id"),
        (DeviceTemplate(APNS_TEMPLATE, expiry="$(a)$(a)"), "expiry"),
    ],
)
def test_header_values_and_expiry_render_within_their_own_limit(
    template: DeviceTemplate, what: str
) -> None:
    fits = template_send(msg="hi", a="1" * (MAX_RENDERED_TEXT // 2))
    over = template_send(msg="hi", a="1" * (MAX_RENDERED_TEXT // 2 + 1))
    target = device(Platform.APNS, ("t", template))

    (at_limit,) = messages_for(fits, target)
    (failure,) = messages_for(over, target)

    # At the limit the value renders (an expiry that long is then no date).
    assert not isinstance(at_limit, RenderFailure) or "renders longer" not in at_limit.reason
    assert isinstance(failure, RenderFailure)
    assert f"the {what} renders longer than {MAX_RENDERED_TEXT} characters" in failure.reason


def test_voip_template_gets_the_larger_apns_limit() -> None:
    template = DeviceTemplate('{"v":"$(v)"}', {"apns-push-type": "voip"})

    (message,) = messages_for(template_send(v="x" * 5000), device(Platform.APNS, ("t", template)))

    assert isinstance(message, PushMessage)


@given(value=st.text(max_size=200))
def test_any_property_value_renders_valid_json_and_xml(value: str) -> None:
    json_device = device(Platform.FCMV1, ("t", DeviceTemplate('{"data":{"v":"$(v)","n":"#(v)"}}')))
    xml_device = device(
        Platform.WNS,
        ("t", DeviceTemplate("<toast a='$(v)'>$(v)</toast>", {"X-WNS-Type": "wns/toast"})),
    )
    request = SendRequest(SendFormat.TEMPLATE, b"{}", properties={"v": value})

    for target in (json_device, xml_device):
        (result,) = messages_for(request, target)
        if isinstance(result, PushMessage):
            if target is json_device:
                json.loads(result.payload)
            else:
                ET.fromstring(result.payload)
        else:
            assert "limit" in result.reason


# --- the tag index's delivery view --------------------------------------------------------------


def test_device_from_the_registry_delivery_view() -> None:
    p256dh = base64.urlsafe_b64encode(b"\x04" + b"k" * 64).decode().rstrip("=")
    auth = base64.urlsafe_b64encode(b"a" * 16).decode().rstrip("=")
    installation = parse_installation(
        {
            "installationId": "inst-1",
            "platform": "browser",
            "pushChannel": {"endpoint": ENDPOINT, "p256dh": p256dh, "auth": auth},
            "pushVariables": {"name": "Ada"},
            "templates": {"t": {"body": '{"m":"$(name)"}', "headers": {"TTL": "60"}}},
        },
        max_tags=60,
    )

    target = device_from_view("inst-1", delivery_view(installation))

    assert target == Device(
        "inst-1",
        Platform.BROWSER,
        ENDPOINT,
        WebPushKeys(p256dh, auth),
        {"t": DeviceTemplate('{"m":"$(name)"}', {"TTL": "60"})},
        {"name": "Ada"},
    )
    message = only_message(messages_for(template_send(), target))
    assert (message.payload, message.headers) == (b'{"m":"Ada"}', {"ttl": "60"})


def test_gcm_views_become_fcm_devices_and_unknown_platforms_none() -> None:
    gcm = device_from_view("i", {"platform": "gcm", "channel": "tok"})
    baidu = device_from_view("i", {"platform": "baidu", "channel": "u-123"})

    assert gcm is not None
    assert gcm.platform is Platform.FCMV1
    assert baidu is not None
    assert (baidu.platform, baidu.handle) == (Platform.BAIDU, "u-123")
    assert device_from_view("i", {"platform": "mpns", "channel": "tok"}) is None
