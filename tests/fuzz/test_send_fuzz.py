"""Fuzz sends and every path over HTTP where the API description cannot reach.

Send headers go out as raw bytes (not UTF-8, control characters, huge, too many), template
properties as any Unicode (lone surrogates too), huge values and thousands of properties,
on sends, test sends, direct and batch sends and scheduled sends; then any method on any
path. Every answer is below 500, a 4xx is NH's XML error (Blob Storage's for a feedback
container Blob call), and a rejected send stores no notification. The hub's devices have
templates but the hub has no push credentials, so test sends render every template and then
skip delivery: nothing leaves the machine. The regressions at the end each failed before the
fix they name.
"""

from __future__ import annotations

import json
import string
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fuzz.answers import (
    FUZZ_EXAMPLES,
    RawAnswer,
    StoredSends,
    assert_answer,
    assert_nh_answer,
    raw_request,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.processes import HostProcess
from support.stack import NhCaller, create_hub

HUB = f"sendfuzz{uuid.uuid4().hex[:10]}"
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LATER = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
APNS_TOKEN = "00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0"
P256DH = "BO" + "A" * 85
AUTH = "AAECAwQFBgcICQoLDA0ODw"
DEVICES: dict[str, dict[str, Any]] = {
    "apple-1": {
        "platform": "apns",
        "pushChannel": APNS_TOKEN,
        "tags": ["t"],
        "templates": {
            "alert": {"body": '{"aps":{"alert":"$(msg)","badge":"#(badge)"}}', "expiry": "$(x)"}
        },
    },
    "fcm-1": {
        "platform": "fcmv1",
        "pushChannel": "tok-1",
        "tags": ["t"],
        "templates": {"n": {"body": '{"message":{"data":{"a":"$(p0)","b":".(msg, 5)"}}}'}},
    },
    "wns-1": {
        "platform": "wns",
        "pushChannel": "https://db5.notify.windows.com/?token=abc",
        "tags": ["t"],
        "templates": {
            "toast": {
                "body": '<toast><visual><binding template="T"><text id="1">$(msg)</text>'
                "</binding></visual></toast>",
                "headers": {"X-WNS-Type": "wns/toast", "X-WNS-Tag": "%(msg)"},
            }
        },
    },
    "browser-1": {
        "platform": "browser",
        "pushChannel": {
            "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
            "p256dh": P256DH,
            "auth": AUTH,
        },
        "tags": ["t"],
        "templates": {"w": {"body": '{"title":"{$(msg) + \' \' + $(p0)}"}'}},
    },
    "adm-1": {
        "platform": "adm",
        "pushChannel": "amzn-1",
        "tags": ["u"],
        "templates": {"a": {"body": '{"data":{"m":"$(msg)"}}'}},
    },
}
TOAST = b'<toast><visual><binding template="T"><text id="1">hi</text></binding></visual></toast>'
NATIVE_BODIES = {
    "apple": b'{"aps":{"alert":"hi"}}',
    "gcm": b'{"data":{"k":"v"}}',
    "fcmv1": b'{"message":{"notification":{"title":"t"}}}',
    "windows": TOAST,
    "browser": b'{"title":"t"}',
    "adm": b'{"data":{"k":"v"}}',
    "template": b'{"msg":"hi","p0":"x","badge":"3"}',
}
HANDLES = {"apple": APNS_TOKEN, "windows": "https://db5.notify.windows.com/?token=abc"}
ROUTES = [
    "/messages",
    "/messages?test",
    "/messages?direct",
    "/messages/$batch?direct",
    "/schedulednotifications",
]


@pytest.fixture(scope="module")
async def caller(app: HostProcess, azurite: str) -> NhCaller:
    # One shard and no credentials: accepted sends walk one partition and deliver nowhere.
    nh = NhCaller(app.url, await create_hub(azurite, HUB, shard_count=1), lifetime=3600)
    async with nh.client() as http:
        for installation_id, body in DEVICES.items():
            put = await http.put(
                f"/installations/{installation_id}", json=body, headers=nh.headers()
            )
            assert put.status_code == 200, put.text
    return nh


@pytest.fixture(scope="module")
def http(caller: NhCaller) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=caller.base_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def stored(caller: NhCaller, azurite: str) -> Iterator[StoredSends]:
    sends = StoredSends(azurite, HUB)
    yield sends
    sends.close()


def batch_body(notification: bytes, devices: list[str]) -> tuple[bytes, str]:
    boundary = "fuzz-boundary"
    parts = [("notification", notification), ("devices", json.dumps(devices).encode())]
    body = b"".join(
        b"--%s\r\nContent-Disposition: inline; name=%s\r\n\r\n%s\r\n"
        % (boundary.encode(), name.encode(), content)
        for name, content in parts
    )
    return body + b"--%s--\r\n" % boundary.encode(), f"multipart/mixed; boundary={boundary}"


def check_send(stored: StoredSends, before: int, answer: RawAnswer, what: str) -> None:
    assert_nh_answer(answer.status, answer.headers.get("content-type", ""), answer.body, what)
    if answer.status >= 300:
        assert stored.count() == before, f"a rejected send stored a notification: {what}"


# --- send headers, as raw bytes ---------------------------------------------------------------

SEND_HEADERS = [
    "apns-priority",
    "apns-push-type",
    "apns-expiration",
    "apns-collapse-id",
    "apns-id",
    "apns-topic",
    "apns-anything",
    "X-Apns-Priority",
    "ServiceBusNotification-Apns-Expiry",
    "X-WNS-Type",
    "X-WNS-Cache-Policy",
    "X-WNS-RequestForStatus",
    "X-WNS-TTL",
    "X-WNS-Priority",
    "X-WNS-Tag",
    "TTL",
    "Urgency",
    "Topic",
    "ServiceBusNotification-Format",
    "ServiceBusNotification-Tags",
    "ServiceBusNotification-DeviceHandle",
    "ServiceBusNotification-ScheduleTime",
    "P256DH",
    "Auth",
    "TrackingId",
    "Accept",
    "X-Herald-User-Token",
    "x-ms-version",
]
NEAR_VALID_VALUES = [
    b"10",
    b"alert",
    b"voip",
    b"wns/toast",
    b"wns/raw",
    b"very-low",
    b"abc_-",
    b"1700000000",
    b"t && !u",
    b"t || (",
    LATER.encode(),
    b"9999-12-31T23:50:00Z",
    b"9999-12-31T23:59:59-01:00",
    b"0001-01-01T00:00:00+01:00",
    APNS_TOKEN.encode(),
    HANDLES["windows"].encode(),
    b"\xff\xfe",  # not UTF-8
    "caf\u00e9".encode(),
    "\u00e9".encode("latin-1"),
    b"a\x01b",  # the host refuses control characters before Herald sees them
    b"\t",
]
header_values = (
    st.sampled_from(NEAR_VALID_VALUES)
    # Anything but line breaks and NUL, which no HTTP client sends.
    | st.binary(max_size=80).map(lambda b: b.translate(None, b"\r\n\x00").strip(b" \t"))
    | st.integers(1_000, 40_000).map(lambda n: b"a" * n)  # over 32 KB: the host's 431
)
header_lists = st.lists(st.tuples(st.sampled_from(SEND_HEADERS), header_values), max_size=6) | (
    st.integers(90, 120).map(lambda n: [(f"X-Extra-{i}", b"x") for i in range(n)])
)


@FUZZ_SETTINGS
@given(
    route=st.sampled_from(ROUTES),
    format=st.sampled_from([*NATIVE_BODIES, "fcm", "windowsphone", "baidu", "pigeon"]),
    headers=header_lists,
)
def test_send_headers_as_any_bytes_get_a_clear_answer(
    route: str,
    format: str,
    headers: list[tuple[str, bytes]],
    caller: NhCaller,
    stored: StoredSends,
) -> None:
    body = NATIVE_BODIES.get(format, b"{}")
    defaults: dict[str, bytes] = {
        "ServiceBusNotification-Format": format.encode(),
        "Content-Type": b"application/json",
        "X-WNS-Type": b"wns/toast",
        "ServiceBusNotification-ScheduleTime": LATER.encode(),
        "ServiceBusNotification-DeviceHandle": HANDLES.get(format, "tok-1").encode(),
        "P256DH": P256DH.encode(),
        "Auth": AUTH.encode(),
    }
    if route.startswith("/messages/$batch"):
        body, content_type = batch_body(body, [HANDLES.get(format, "tok-1")])
        defaults["Content-Type"] = content_type.encode()
    fuzzed = {name.lower() for name, _ in headers}
    sent = [(k, v) for k, v in defaults.items() if k.lower() not in fuzzed]
    sent += [*headers, ("Authorization", caller.token().encode())]
    before = stored.count()
    answer = raw_request(caller.base_url, "POST", f"/{HUB}{route}", sent, body)
    check_send(stored, before, answer, f"POST {route} {headers!r}"[:3000])


# --- template properties -----------------------------------------------------------------------

LONE_SURROGATES = ["\ud800", "\udfff", "a\ud83d", "\ude00b"]
property_values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(LONE_SURROGATES),
    st.integers(1_000, 70_000).map(lambda n: "x" * n),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.sampled_from(["1e999", "0", "3.25", "-0"]),
)
properties = st.dictionaries(
    st.sampled_from(["msg", "p0", "badge", "x", "MSG"]) | st.text(max_size=20),
    property_values,
    max_size=8,
) | st.integers(100, 6_000).map(lambda n: {f"p{i}": "v" * (i % 7) for i in range(n)})


@FUZZ_SETTINGS
@given(
    props=properties,
    route=st.sampled_from(["/messages", "/messages?test", "/schedulednotifications"]),
    tags=st.sampled_from([None, "t", "t || u", "!t"]),
)
def test_template_properties_of_any_text_and_size_get_a_clear_answer(
    props: dict[str, Any],
    route: str,
    tags: str | None,
    caller: NhCaller,
    http: httpx.Client,
    stored: StoredSends,
) -> None:
    # ASCII escapes, as clients write them: lone surrogates arrive as \\udxxx, NaN as NaN.
    body = json.dumps(props).encode()
    headers = caller.headers(
        **{
            "ServiceBusNotification-Format": "template",
            "ServiceBusNotification-ScheduleTime": LATER,
            "Content-Type": "application/json",
        }
    )
    if tags is not None:
        headers["ServiceBusNotification-Tags"] = tags
    before = stored.count()
    response = http.post(f"/{HUB}{route}", content=body, headers=headers)
    answer = RawAnswer(response.status_code, dict(response.headers), response.content)
    check_send(stored, before, answer, f"POST {route} {body[:300]!r}")
    if route.endswith("?test") and response.status_code == 201:
        outcome = ET.fromstring(response.content)
        assert outcome.tag.endswith("NotificationOutcome")


# --- any method on any path --------------------------------------------------------------------

SEGMENTS = [
    HUB,
    "messages",
    "$batch",
    "installations",
    "schedulednotifications",
    "feedback",
    "feedbackcontainer",
    "health",
    "apple-1",
    "12252026",
    "0123456789abcdef0123456789abcdef",
    "",
]
odd_segments = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="/?#"), max_size=30
)
paths = st.lists(st.sampled_from(SEGMENTS) | odd_segments, max_size=4).map(
    # A path may not start with '//' (httpx would take it for a host).
    lambda parts: "/" + "/".join(quote(p, safe="$") for p in parts).lstrip("/")
)
queries = st.dictionaries(
    st.sampled_from(
        [
            *("api-version", "test", "direct", "top", "continuationToken", "failuresToken"),
            *("restype", "comp", "sig", "se", "si", "since", "platform", "tag", "updatedSince"),
        ]
    ),
    st.sampled_from(["", "2020-06", "0", "1000", "9" * 5000, "container", "list", "apns"])
    | st.text(string.printable, max_size=20),
    max_size=4,
)


@FUZZ_SETTINGS
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
    path=paths,
    query=queries,
    body=st.sampled_from([b"", b"{}", b"[]", NATIVE_BODIES["template"], b"\xff"]),
    signed=st.booleans(),
)
def test_any_method_on_any_path_gets_a_clear_answer(
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    signed: bool,
    caller: NhCaller,
    http: httpx.Client,
) -> None:
    headers = caller.headers(**{"ServiceBusNotification-Format": "template"}) if signed else {}
    response = http.request(method, path, params=query, content=body, headers=headers)
    if method == "HEAD":  # no body to read
        assert response.status_code < 500, f"HEAD {response.url}"
        return
    assert_answer(
        method, str(response.url), response.status_code, dict(response.headers), response.content
    )


# --- regressions: each was a 500 or a non-NH body (issue 11, item 6) ---------------------------


def nh_error(response: httpx.Response | RawAnswer, status: int) -> str:
    """The Detail of NH's error answer with this status."""
    if isinstance(response, httpx.Response):
        response = RawAnswer(response.status_code, dict(response.headers), response.content)
    assert response.status == status, response.body[:500]
    assert_nh_answer(response.status, response.headers.get("content-type", ""), response.body, "")
    return ET.fromstring(response.body).findtext("Detail") or ""


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", b'{"platform":"apns","pushChannel":"00fe","tags":' + b"1" * 5000 + b"}"),
        ("PATCH", b'[{"op":"add","path":"/tags","value":' + b"1" * 5000 + b"}]"),
        ("PUT", b'{"platform":"apns","pushChannel":"00fe","tags":1e999}'),
    ],
)
def test_a_huge_number_is_400_for_a_listen_key(
    method: str, body: bytes, caller: NhCaller, http: httpx.Client
) -> None:
    """Python's int() refuses over 4,300 digits with a ValueError, which was a 500."""
    headers = caller.as_listen().headers(**{"Content-Type": "application/json"})
    response = http.request(method, f"/{HUB}/installations/huge", content=body, headers=headers)
    assert "not valid JSON" in nh_error(response, 400)


def test_a_schedule_in_the_last_ttl_before_year_10000_is_accepted(
    caller: NhCaller, http: httpx.Client
) -> None:
    """Its expiry, the schedule plus 30 minutes, overflowed datetime: a 500."""
    headers = caller.headers(
        **{
            "ServiceBusNotification-Format": "template",
            "ServiceBusNotification-ScheduleTime": "9999-12-31T23:50:00Z",
        }
    )
    response = http.post(
        f"/{HUB}/schedulednotifications", content=b'{"msg":"late"}', headers=headers
    )
    assert response.status_code == 201, response.text
    telemetry = http.get(
        httpx.URL(response.headers["Location"]).path.replace("schedulednotifications", "messages"),
        headers=caller.headers(Accept="application/json"),
    )
    assert telemetry.json()["state"] == "Scheduled"


@pytest.mark.parametrize("route", ["/messages", "/messages?test", "/schedulednotifications"])
def test_a_lone_surrogate_in_template_properties_is_400(
    route: str, caller: NhCaller, http: httpx.Client, stored: StoredSends
) -> None:
    """It was stored as it came and the row could not be encoded: a 500."""
    headers = caller.headers(
        **{
            "ServiceBusNotification-Format": "template",
            "ServiceBusNotification-ScheduleTime": LATER,
        }
    )
    before = stored.count()
    response = http.post(f"/{HUB}{route}", content=b'{"msg":"\\ud800"}', headers=headers)
    assert "surrogate" in nh_error(response, 400)
    assert stored.count() == before


def test_a_non_utf8_byte_in_a_pass_through_header_is_400(
    caller: NhCaller, stored: StoredSends
) -> None:
    headers = [
        ("ServiceBusNotification-Format", b"apple"),
        ("apns-collapse-id", b"\xff\xfe"),
        ("Authorization", caller.token().encode()),
    ]
    before = stored.count()
    answer = raw_request(caller.base_url, "POST", f"/{HUB}/messages", headers, b"{}")
    assert "visible ASCII" in nh_error(answer, 400)
    assert stored.count() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/no/such/route"),
        ("POST", f"/{HUB}/installations/apple-1"),
        ("DELETE", "/health"),
        ("PUT", f"/{HUB}/messages"),
        ("GET", f"/{HUB}/nothing"),
    ],
)
def test_unmatched_routes_get_nh_s_404(method: str, path: str, http: httpx.Client) -> None:
    """The host answered these with an empty 404."""
    assert "There is no resource" in nh_error(http.request(method, path), 404)


@pytest.mark.parametrize(
    ("status", "target", "headers", "body"),
    [
        (414, f"/{HUB}/messages?x=" + "a" * 5000, [], b""),
        (431, f"/{HUB}/messages", [("X-Big", b"a" * 40_000)], b""),
        (413, f"/{HUB}/messages", [("Content-Type", b"text/plain")], b"a" * (64 * 1024 + 1)),
    ],
    ids=["url", "header", "body"],
)
def test_oversized_requests_get_nh_s_error_format(
    status: int,
    target: str,
    headers: list[tuple[str, bytes]],
    body: bytes,
    caller: NhCaller,
) -> None:
    """The host answered a long URL or header with its own text/plain 400; a body over 64 KB
    is Herald's 413 (and one over the host's 100 MB, the host's own, in the same shape)."""
    sent = [
        *headers,
        ("Authorization", caller.token().encode()),
        ("ServiceBusNotification-Format", b"template"),
    ]
    nh_error(raw_request(caller.base_url, "POST", target, sent, body), status)
