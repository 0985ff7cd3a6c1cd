"""The platform -> sender registry and the PNS settings."""

from __future__ import annotations

import pytest
from unit.pns.keys import ec_key, ec_pem, rsa_pem

from shared.config import Settings
from shared.errors import BadRequestError
from shared.pns._webpush_crypto import b64url
from shared.pns.base import Platform
from shared.pns.options import PnsOptions
from shared.pns.registry import FACTORIES, build_sender

CREDENTIALS: dict[Platform, dict[str, object]] = {
    Platform.APNS: {"bundle_id": "b", "key_id": "K", "team_id": "T", "signing_key": ec_pem()},
    Platform.FCMV1: {"project_id": "p", "client_email": "e@x", "private_key": rsa_pem()},
    Platform.WNS: {"client_id": "ms-app://s", "client_secret": "s"},
    Platform.BROWSER: {
        "subject": "mailto:a@example.com",
        "private_key": b64url(ec_key().private_numbers().private_value.to_bytes(32, "big")),
    },
    Platform.ADM: {"client_id": "c", "client_secret": "s"},
    Platform.BAIDU: {"BaiduApiKey": "k", "BaiduSecretKey": "s"},
    Platform.XIAOMI: {"AppSecret": "s"},
}


def test_every_platform_has_a_factory() -> None:
    assert set(FACTORIES) == set(Platform)


@pytest.mark.parametrize("platform", list(Platform))
async def test_builds_a_sender_for_each_platform(platform: Platform) -> None:
    sender = build_sender(platform, CREDENTIALS[platform], PnsOptions())
    assert sender.platform is platform
    assert await sender.send([]) == []
    await sender.aclose()
    await sender.aclose()  # idempotent


@pytest.mark.parametrize("platform", list(Platform))
def test_bad_credentials_raise_bad_request(platform: Platform) -> None:
    with pytest.raises(BadRequestError):
        build_sender(platform, {"nonsense": 1}, PnsOptions())


def test_settings_fields_reach_the_options() -> None:
    env = {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "HERALD_PNS_ALLOWED_TEST_HOSTS": "127.0.0.1:8443, localhost:9000,",
        "HERALD_PNS_CA_FILE": "/tmp/ca.pem",
    }
    options = PnsOptions.from_settings(Settings.from_env(env))
    assert options.allowed_test_hosts == ("127.0.0.1:8443", "localhost:9000")
    assert options.ca_file == "/tmp/ca.pem"
    bare = Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert (bare.pns_allowed_test_hosts, bare.pns_ca_file) == ((), None)
