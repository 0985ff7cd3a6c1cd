"""The host's Storage clients look for a proxy per request only when one is configured."""

import pytest

from emulator.storage import client_options


def test_no_proxy_variable_means_no_per_request_proxy_lookup() -> None:
    assert client_options({"PATH": "/usr/bin", "NO_PROXY": "localhost"}) == {
        "use_env_settings": False
    }


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY", "https_proxy"])
def test_a_proxy_variable_turns_the_lookup_on(name: str) -> None:
    assert client_options({name: "http://proxy:3128"}) == {"use_env_settings": True}


def test_an_empty_proxy_variable_is_no_proxy() -> None:
    assert client_options({"HTTPS_PROXY": ""}) == {"use_env_settings": False}
