"""``$filter``: every handle query NH and its SDKs send, and a 400 for anything else."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.model.channels import BrowserPushChannel, InstallationPlatform
from shared.model.registration import Registration
from shared.registrations.filters import parse_filter

WNS = "https://db5.notify.windows.com/?token=AwYAAAB%2bQ%3d"
P = InstallationPlatform


def device(platform: InstallationPlatform, channel: str | BrowserPushChannel) -> Registration:
    return Registration(registration_id="r", platform=platform, push_channel=channel)


def test_dotnet_and_java_send_channel_uri_for_every_platform() -> None:
    query = parse_filter("ChannelUri eq 'abcdef'")
    assert query.platforms is None
    assert query.matches(device(P.APNS, "ABCDEF"))  # tokens are kept in upper case
    assert query.matches(device(P.FCMV1, "abcdef"))
    assert not query.matches(device(P.FCMV1, "abcdeg"))


def test_the_js_sdk_encodes_uris_inside_the_quotes() -> None:
    query = parse_filter(f"ChannelUri eq '{quote(WNS, safe='')}'")
    assert query.handles[0] == WNS  # decoded once, its own %2b left alone
    assert parse_filter(f"ChannelUri eq '{WNS}'").handles[0] == WNS  # .NET sends it as it is


def test_ios_writes_device_token_in_lower_case_with_plus_signs() -> None:
    query = parse_filter("deviceToken+eq+'00fe'")
    assert query.handles == ("00FE",)
    assert query.platforms == frozenset({P.APNS})


def test_fcm_fields_match_either_fcm_kind() -> None:
    for field in ("GcmRegistrationId", "FcmRegistrationId", "FcmV1RegistrationId"):
        query = parse_filter(f"{field} eq 'tok'")
        assert query.matches(device(P.GCM, "tok"))
        assert query.matches(device(P.FCMV1, "tok"))
        assert not query.matches(device(P.ADM, "tok"))


def test_the_js_baidu_filter_with_its_missing_quote() -> None:
    query = parse_filter("BaiduChannelId eq 42' and BaiduUserId eq 'u-1'")
    assert query.handles == ("u-1-42",)
    assert query.matches(device(P.BAIDU, "u-1-42"))
    partial = parse_filter("BaiduChannelId eq '42'")
    assert partial.handles == ()
    assert partial.matches(device(P.BAIDU, "u-1-42"))
    assert not partial.matches(device(P.BAIDU, "u-1-421"))


def test_the_android_sdk_names_the_baidu_handle_as_one_field() -> None:
    query = parse_filter("BaiduUserId-BaiduChannelId eq 'u1-42'")
    assert query.handles == ("u1-42",)
    assert query.platforms == frozenset({P.BAIDU})


def test_browser_filters_check_the_keys_too() -> None:
    channel = BrowserPushChannel("https://push.example/x", "p1", "a1")
    query = parse_filter(
        f"Endpoint eq '{quote(channel.endpoint, safe='')}' and P256DH eq 'p1' and Auth eq 'a1'"
    )
    assert query.handles == ("https://push.example/x",)
    assert query.matches(device(P.BROWSER, channel))
    other = BrowserPushChannel("https://push.example/x", "p2", "a1")
    assert not query.matches(device(P.BROWSER, other))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Tags eq 'a'",
        "ChannelUri ne 'a'",
        "ChannelUri eq 'a' or DeviceToken eq 'b'",
        "ChannelUri eq 'a' and DeviceToken eq 'B'",
        "DeviceToken eq 'a' and AdmRegistrationId eq 'b'",
        "ChannelUri eq 'a' and ChannelUri eq 'b'",
        "ChannelUri eq 'a",
        "x" * 5000,
    ],
)
def test_other_queries_are_a_400(text: str) -> None:
    with pytest.raises(BadRequestError, match="do not support this query"):
        parse_filter(text)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_quoted_values_come_back_whole(value: str) -> None:
    query = parse_filter("ChannelUri eq '" + value.replace("'", "''") + "'")
    if "://" not in value:
        assert value.strip() in query.handles or value.strip() == ""
