"""The SSRF guard for device-supplied URLs (WNS channels, Web Push endpoints)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.pns.base import Platform
from shared.pns.urls import check_device_url, check_service_url

WNS = Platform.WNS
WEB = Platform.BROWSER


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://dm3p.notify.windows.com/?token=AwYAAAB", WNS),
        ("https://wns2-by3p.notify.windows.com/?token=x", WNS),
        ("https://DM3P.Notify.Windows.com/?token=x", WNS),
        ("https://fcm.googleapis.com/fcm/send/abc:def", WEB),
        ("https://fcm.googleapis.com:443/wp/abc", WEB),
        ("https://updates.push.services.mozilla.com/wpush/v2/gAAAA", WEB),
        ("https://web.push.apple.com/QGuQyavXutnMH", WEB),
        ("https://db5p.notify.windows.com/w/?token=x", WEB),
    ],
)
def test_known_push_services_pass(url: str, platform: Platform) -> None:
    assert check_device_url(url, platform) == url


@pytest.mark.parametrize(
    ("url", "platform", "words"),
    [
        ("http://dm3p.notify.windows.com/?token=x", WNS, "https"),
        ("https://user:pw@dm3p.notify.windows.com/?token=x", WNS, "user information"),
        ("https://fcm.googleapis.com@evil.example/x", WEB, "user information"),
        ("https://dm3p.notify.windows.com:8443/?token=x", WNS, "default https port"),
        ("https://fcm.googleapis.com:80/x", WEB, "default https port"),
        ("https://169.254.169.254/latest/meta-data/", WEB, "IP address"),
        ("https://127.0.0.1/x", WEB, "IP address"),
        ("https://10.0.0.7/x", WNS, "IP address"),
        ("https://192.168.1.1/x", WEB, "IP address"),
        ("https://[::1]/x", WEB, "IP address"),
        ("https://[fe80::1]/x", WEB, "IP address"),
        ("https://2130706433/x", WEB, "IP address"),
        ("https://127.1/x", WEB, "IP address"),
        ("https://0x7f.0.0.1/x", WEB, "IP address"),
        ("https://evil.example/x", WEB, "not a known"),
        ("https://notify.windows.com/?token=x", WNS, "not a known"),
        ("https://evilnotify.windows.com.example/?token=x", WNS, "not a known"),
        ("https://fcm.googleapis.com.evil.example/x", WEB, "not a known"),
        ("https://fcm.googleapis.com./x", WEB, "not a known"),
        ("https://fcm.googleapis.com/fcm/send/x", WNS, "not a known"),
        ("https://fcm.googleapis.com\\@evil.example/x", WEB, "forbidden characters"),
        ("https://fcm.googleapis.com/a b", WEB, "forbidden characters"),
        ("https://fcm.googleapis.com:99999/x", WEB, "not a valid URL"),
        ("ftp://fcm.googleapis.com/x", WEB, "https"),
        ("https://localhost/x", WEB, "not a known"),
    ],
)
def test_unsafe_urls_are_refused_with_a_reason(url: str, platform: Platform, words: str) -> None:
    with pytest.raises(BadRequestError, match=words) as caught:
        check_device_url(url, platform)
    assert caught.value.status == 400


def test_platforms_without_urls_are_refused() -> None:
    with pytest.raises(BadRequestError, match="does not use device-supplied URLs"):
        check_device_url("https://fcm.googleapis.com/x", Platform.APNS)


def test_simulator_hosts_pass_only_when_listed() -> None:
    url = "http://127.0.0.1:8443/push/abc"
    with pytest.raises(BadRequestError):
        check_device_url(url, WEB)
    assert check_device_url(url, WEB, allowed_test_hosts=("127.0.0.1:8443",)) == url
    assert check_device_url(
        "https://localhost:9000/?token=x", WNS, allowed_test_hosts=("localhost:9000",)
    )
    with pytest.raises(BadRequestError):  # another port of the same host is not listed
        check_device_url("http://127.0.0.1:8444/x", WEB, allowed_test_hosts=("127.0.0.1:8443",))
    with pytest.raises(BadRequestError):  # user-info is never allowed, even for simulators
        check_device_url("http://a@127.0.0.1:8443/x", WEB, allowed_test_hosts=("127.0.0.1:8443",))


@given(st.ip_addresses())
def test_no_ip_literal_ever_passes(address: object) -> None:
    host = f"[{address}]" if ":" in str(address) else str(address)
    with pytest.raises(BadRequestError):
        check_device_url(f"https://{host}/push", WEB)


@given(st.text(min_size=1, max_size=40))
def test_arbitrary_hosts_never_pass_unless_allow_listed(label: str) -> None:
    url = f"https://{label}/push"
    try:
        check_device_url(url, WEB)
    except BadRequestError:
        return
    host = url.split("/")[2].lower().split(":")[0]
    assert host.endswith((".push.apple.com", ".notify.windows.com")) or host in {
        "fcm.googleapis.com",
        "android.googleapis.com",
        "updates.push.services.mozilla.com",
        "updates-autopush.stage.mozaws.net",
        "updates-autopush.dev.mozaws.net",
    }


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://api.tuisong.baidu.com/rest/3.0", Platform.BAIDU),
        ("https://api.xmpush.xiaomi.com", Platform.XIAOMI),
        ("https://sgp-api.xmpush.global.xiaomi.com", Platform.XIAOMI),
        ("http://127.0.0.1:9443/rest/3.0", Platform.BAIDU),  # a listed simulator
    ],
)
def test_service_endpoints_of_the_service_pass(url: str, platform: Platform) -> None:
    assert check_service_url(url, platform, allowed_test_hosts=["127.0.0.1:9443"]) == url


@pytest.mark.parametrize(
    ("url", "platform", "words"),
    [
        ("https://api.xmpush.xiaomi.com", Platform.BAIDU, "not a known baidu"),
        ("https://api.tuisong.baidu.com/rest/3.0", Platform.XIAOMI, "not a known xiaomi"),
        ("http://api.tuisong.baidu.com/rest/3.0", Platform.BAIDU, "https"),
        ("https://169.254.169.254/latest", Platform.XIAOMI, "IP address"),
        ("https://u:p@api.xmpush.xiaomi.com", Platform.XIAOMI, "user information"),
        ("https://api.xmpush.xiaomi.com", Platform.ADM, "no configurable endpoint"),
        ("https://x.notify.windows.com", Platform.WNS, "no configurable endpoint"),
    ],
)
def test_other_service_endpoints_are_refused(url: str, platform: Platform, words: str) -> None:
    with pytest.raises(BadRequestError, match=words):
        check_service_url(url, platform)


def test_device_urls_stay_wns_and_web_push_only() -> None:
    with pytest.raises(BadRequestError, match="does not use device-supplied URLs"):
        check_device_url("https://api.xmpush.xiaomi.com", Platform.XIAOMI)
