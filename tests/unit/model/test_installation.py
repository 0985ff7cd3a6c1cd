"""Installations: what each SDK sends, what NH answers, validation, hashing and tag views."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.model.strategies import installations

from shared.errors import BadRequestError
from shared.model.channels import BrowserPushChannel, InstallationPlatform
from shared.model.installation import Installation, parse_installation

MAX_TAGS = 60
P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
AUTH = "tBHItJI5svbpez7KI4CCXg"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc:def"

# GET bodies recorded from the real service (reference §1.2), ids shortened.
RECORDED = [
    {
        "installationId": "95e4",
        "pushChannel": "62BC",
        "pushChannelExpired": False,
        "platform": "apns",
        "expirationTime": "9999-12-31T23:59:59.9999999Z",
        "tags": ["tag1"],
        "pushVariables": {"var1": "value1"},
        "templates": {
            "Template Name": {
                "body": '{"aps":{"alert":"alert!"}}',
                "expiry": "2018-11-07T16:18:32.6641371-08:00",
                "tags": ["Template Name"],
            }
        },
    },
    {
        "installationId": "ef4f",
        "pushChannel": "https://some.url/",
        "pushChannelExpired": False,
        "platform": "wns",
        "expirationTime": "9999-12-31T23:59:59.9999999Z",
        "templates": {
            "Template Name": {
                "body": "<toast><visual><binding template='ToastText01'/></visual></toast>",
                "headers": {"X-WNS-Type": "wns/toast"},
                "tags": ["Template Name"],
            }
        },
    },
    {
        "installationId": "08c8",
        "pushChannel": "62BC",
        "pushChannelExpired": False,
        "platform": "apns",
        "expirationTime": "9999-12-31T23:59:59.9999999Z",
        "userId": "d798",
    },
]


def parse(data: object, **options: Any) -> Installation:
    return parse_installation(data, max_tags=options.pop("max_tags", MAX_TAGS), **options)


def body(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "installationId": "inst-1",
        "platform": "apns",
        "pushChannel": "00fe",
    }
    base.update(changes)
    return base


@pytest.mark.parametrize("recorded", RECORDED)
def test_recorded_nh_responses_round_trip_exactly(recorded: dict[str, object]) -> None:
    wire = parse(recorded).to_wire()
    assert json.dumps(wire) == json.dumps(recorded)  # same keys, values and order


def test_js_sdk_put_body_parses() -> None:
    sent = {
        "installationId": "inst-1",
        "pushChannel": "00fe",
        "tags": ["likes_hockey"],
        "templates": {
            "t1": {
                "body": '{"aps":{"alert":"$(m)"}}',
                "headers": {"apns-priority": "10"},
                "tags": ["tt"],
            }
        },
        "platform": "apns",
    }
    installation = parse(sent, installation_id="inst-1")
    assert installation.tags == ("likes_hockey",)
    assert installation.templates["t1"].tags == ("tt",)
    assert installation.to_wire()["templates"] == {
        "t1": {
            "body": '{"aps":{"alert":"$(m)"}}',
            "headers": {"apns-priority": "10"},
            "tags": ["t1", "tt"],
        }
    }


def test_dotnet_put_body_with_nulls_parses() -> None:
    sent = body(
        platform="fcmV1",
        pushChannel="dGVzdA:APA91b",
        userId=None,
        pushChannelExpired=None,
        expirationTime=None,
        tags=None,
        templates=None,
        pushVariables=None,
    )
    installation = parse(sent)
    assert installation.platform is InstallationPlatform.FCMV1
    assert installation.user_id is None
    assert installation.expiration_time is None
    assert installation.to_wire()["expirationTime"] == "9999-12-31T23:59:59.9999999Z"


@pytest.mark.parametrize("spelling", ["fcmv1", "fcmV1", "FCMV1", "FcmV1", " fcmv1 "])
def test_platform_is_case_insensitive_and_lower_case_on_output(spelling: str) -> None:
    installation = parse(body(platform=spelling, pushChannel="token"))
    assert installation.to_wire()["platform"] == "fcmv1"


def test_browser_channel_as_object_or_json_text_is_the_same() -> None:
    channel = {"endpoint": ENDPOINT, "p256dh": P256DH, "auth": AUTH}
    from_js = parse(body(platform="browser", pushChannel=channel))
    from_dotnet = parse(body(platform="browser", pushChannel=json.dumps(channel)))
    assert from_js == from_dotnet
    assert from_js.push_channel == BrowserPushChannel(ENDPOINT, P256DH, AUTH)
    assert from_js.handle == ENDPOINT
    assert from_js.channel_urls == (ENDPOINT,)
    assert from_js.to_wire()["pushChannel"] == channel
    as_text = from_js.to_wire(browser_channel_as_string=True)["pushChannel"]
    assert isinstance(as_text, str)
    assert json.loads(as_text) == channel


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T22:36:01", datetime(2026, 11, 24, 22, 36, 1, tzinfo=UTC)),
        ("2026-11-24T22:36:01.196Z", datetime(2026, 11, 24, 22, 36, 1, 196000, tzinfo=UTC)),
        ("2018-11-07T16:18:32.6641371-08:00", datetime(2018, 11, 8, 0, 18, 32, 664137, tzinfo=UTC)),
        ("9999-12-31T23:59:59.9999999Z", None),
    ],
)
def test_expiration_dates_with_or_without_zone_are_utc(
    text: str, expected: datetime | None
) -> None:
    assert parse(body(expirationTime=text)).expiration_time == expected


def test_dates_are_written_as_nh_writes_them() -> None:
    moment = datetime(2026, 11, 24, 22, 36, 1, 196000, tzinfo=UTC)
    wire = parse(body(expirationTime="2026-11-24T22:36:01.196")).stamped(moment).to_wire()
    assert wire["expirationTime"] == "2026-11-24T22:36:01.1960000Z"
    assert wire["lastUpdate"] == "2026-11-24T22:36:01.1960000Z"


def test_the_url_id_is_used_when_the_body_has_none_and_must_match_otherwise() -> None:
    sent = body()
    del sent["installationId"]
    assert parse(sent, installation_id="from-url").installation_id == "from-url"
    with pytest.raises(BadRequestError, match="differs"):
        parse(body(), installation_id="other")


def test_system_and_template_name_tags_use_nh_spelling() -> None:
    installation = parse(RECORDED[0] | {"userId": "d798"})
    assert installation.system_tags == ("$InstallationId:{95e4}", "$UserId:{d798}")
    assert installation.native_tags == {"tag1", "$InstallationId:{95e4}", "$UserId:{d798}"}
    assert installation.template_tags("Template Name") == installation.native_tags | {
        "Template Name"
    }
    assert installation.all_tags == installation.native_tags | {"Template Name"}


def test_content_hash_ignores_order_and_timestamps_but_not_content() -> None:
    first = parse(body(tags=["b", "a", "a"]))
    second = parse(body(tags=["a", "b"], lastUpdate="2020-01-01T00:00:00Z"))
    assert first.content_hash == second.content_hash
    assert first.content_hash != parse(body(tags=["a", "b", "c"])).content_hash
    assert first.content_hash != parse(body(tags=["a", "b"], userId="u")).content_hash


def test_stamped_clears_the_expired_flag() -> None:
    expired = parse(body(pushChannelExpired=True))
    assert expired.push_channel_expired
    assert not expired.stamped(datetime(2026, 1, 1, tzinfo=UTC)).push_channel_expired


def test_secondary_tiles_round_trip_and_expose_their_urls() -> None:
    tiles = {
        "tile1": {
            "pushChannel": "https://tile.notify.windows.com/?t=1",
            "tags": ["x"],
            "templates": {
                "tt": {"body": "<tile/>", "headers": {"X-WNS-Type": "wns/tile"}, "tags": ["tt"]}
            },
        }
    }
    sent = body(
        platform="wns", pushChannel="https://a.notify.windows.com/?t=0", secondaryTiles=tiles
    )
    installation = parse(sent)
    assert installation.to_wire()["secondaryTiles"] == tiles
    assert installation.channel_urls == (
        "https://a.notify.windows.com/?t=0",
        "https://tile.notify.windows.com/?t=1",
    )


WNS_TEMPLATE = {"body": "<toast/>", "headers": {"X-WNS-Type": "wns/toast"}}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"platform": "mpns"}, "not supported"),
        ({"platform": None}, "platform is required"),
        ({"platform": 3}, "must be a string"),
        ({"pushChannel": None}, "pushChannel is required"),
        ({"pushChannel": "xyz"}, "APNs device token"),
        ({"pushChannel": "abc"}, "APNs device token"),
        ({"platform": "fcmv1", "pushChannel": "has space"}, "fcmv1 token"),
        ({"platform": "wns", "pushChannel": "ftp://a.notify.windows.com/"}, "scheme"),
        ({"platform": "wns", "pushChannel": "https://user:pw@a.notify.windows.com/"}, "user-info"),
        ({"platform": "wns", "pushChannel": "https:///nohost"}, "no host"),
        ({"platform": "wns", "pushChannel": "https://[::1/"}, "cannot be parsed"),
        ({"platform": "browser", "pushChannel": "not json"}, "not valid JSON"),
        ({"platform": "browser", "pushChannel": []}, "must be an object"),
        (
            {
                "platform": "browser",
                "pushChannel": {"endpoint": ENDPOINT, "p256dh": AUTH, "auth": AUTH},
            },
            "65 bytes",
        ),
        (
            {
                "platform": "browser",
                "pushChannel": {"endpoint": ENDPOINT, "p256dh": P256DH, "auth": "!"},
            },
            "16 bytes",
        ),
        ({"installationId": "has:colon"}, "Entity segments"),
        ({"installationId": "x" * 257}, "longer than 256"),
        ({"tags": ["ok", "not ok"]}, "invalid tag"),
        ({"tags": ["$InstallationId:{x}"]}, "invalid tag"),
        ({"tags": ["a" * 121]}, "invalid tag"),
        ({"tags": "single"}, "array"),
        ({"tags": ["a", "b", "c", "d"]}, "at most 3"),
        ({"userId": "has space"}, "userId"),
        ({"userId": ""}, "userId"),
        ({"templates": {"t": {"body": "not json"}}}, "not valid JSON"),
        ({"templates": {"t": {"body": "[1]"}}}, "JSON object"),
        ({"templates": {"t": {}}}, "body must be a string"),
        ({"templates": {"t": {"body": "{}", "headers": {"a b": "c"}}}}, "not allowed"),
        ({"templates": {"t": {"body": "{}", "headers": {"a": "c\r\nd"}}}}, "visible ASCII"),
        ({"templates": {"t": {"body": "{}", "headers": {"a": "c\x01d"}}}}, "visible ASCII"),
        ({"templates": {"t": {"body": "{}", "headers": {"a": "caf\u00e9"}}}}, "visible ASCII"),
        ({"templates": {"t": {"body": "{}", "headers": {"apns-priority": "7"}}}}, "1, 5 or 10"),
        ({"templates": {"$UserId:{alice}": {"body": "{}"}}}, "must not start with"),
        ({"templates": {"t": {"body": "{}", "expiry": ""}}}, "expiry"),
        ({"templates": {"t": {"body": "{}", "tags": ["a", "b", "c"]}}, "tags": ["d"]}, "at most 3"),
        ({"templates": {"": {"body": "{}"}}}, "template name"),
        ({"templates": ["t"]}, "templates must be an object"),
        ({"pushVariables": {"a": 1}}, "must be a string"),
        ({"secondaryTiles": {}}, "only supported for the wns"),
        ({"expirationTime": "tomorrow"}, "ISO 8601"),
        # Offsets that move a date past year 9999 or before year 1 (were OverflowError: a 500).
        ({"expirationTime": "9999-12-31T23:59:59-01:00"}, "out of range"),
        ({"expirationTime": "0001-01-01T00:00:00+01:00"}, "out of range"),
        ({"pushChannelExpired": "no"}, "boolean"),
    ],
)
def test_invalid_installations_are_400_naming_the_problem(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(BadRequestError, match=reason):
        parse(body(**changes), max_tags=3)


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ({"body": "<toast/>"}, "X-WNS-Type"),
        ({"body": "<toast/>", "headers": {"X-WNS-Type": "wns/other"}}, "X-WNS-Type"),
        ({"body": "plain", "headers": {"X-WNS-Type": "wns/toast"}}, "must be XML"),
    ],
)
def test_wns_templates_need_a_type_and_xml(template: dict[str, object], reason: str) -> None:
    sent = body(
        platform="wns", pushChannel="https://a.notify.windows.com/", templates={"t": template}
    )
    with pytest.raises(BadRequestError, match=reason):
        parse(sent)


def test_wns_raw_templates_may_hold_anything() -> None:
    template = {"body": "raw bytes", "headers": {"x-wns-type": "wns/raw"}}
    sent = body(
        platform="wns", pushChannel="https://a.notify.windows.com/", templates={"t": template}
    )
    assert parse(sent).templates["t"].body == "raw bytes"


def test_a_body_that_is_not_an_object_is_400() -> None:
    values: list[object] = [None, [], "x", 1, True]
    for value in values:
        with pytest.raises(BadRequestError, match="JSON object"):
            parse(value)


@settings(deadline=None)
@given(installations())
def test_wire_form_parses_back_to_an_equal_installation(installation: Installation) -> None:
    again = parse(json.loads(json.dumps(installation.to_wire())), max_tags=1000)
    assert again == installation
    assert again.content_hash == installation.content_hash


_TEXT = st.text(max_size=30) | st.text(
    alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, exclude_categories=()),
    max_size=4,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=25,
)
_FIELDS = [
    "installationId",
    "platform",
    "pushChannel",
    "userId",
    "tags",
    "templates",
    "pushVariables",
    "secondaryTiles",
    "expirationTime",
    "pushChannelExpired",
    "lastActiveOn",
    "lastUpdate",
]
_PLAUSIBLE = st.fixed_dictionaries(
    {
        "installationId": st.just("i") | _JSON,
        "platform": st.sampled_from(InstallationPlatform).map(str) | _JSON,
    },
    optional={name: _JSON for name in _FIELDS[2:]},
)


@settings(deadline=None)
@given(st.one_of(_JSON, _PLAUSIBLE))
def test_no_input_makes_the_parser_raise_anything_but_bad_request(data: object) -> None:
    url_id = "i" if isinstance(data, dict) and "installationId" not in data else None
    try:
        installation = parse(data, installation_id=url_id)
    except BadRequestError:
        return
    assert len(installation.content_hash) == 64
    assert parse(json.loads(json.dumps(installation.to_wire()))) == installation
