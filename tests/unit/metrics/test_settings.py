"""The metrics' settings: on by default, off by HERALD_METRICS, and one clear error each."""

from __future__ import annotations

import pytest

from shared.config import AppInsightsSettings, Settings
from shared.errors import ConfigurationError

STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
INSIGHTS = "InstrumentationKey=00000000-0000-0000-0000-000000000000"


def test_metrics_are_on_and_written_every_ten_seconds_by_default() -> None:
    settings = Settings.from_env(STORAGE)
    assert settings.metrics_enabled
    assert settings.metrics_flush_seconds == 10.0
    assert (settings.prometheus_key, settings.appinsights) == (None, None)
    assert not Settings.from_env({**STORAGE, "HERALD_METRICS": "OFF"}).metrics_enabled


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("HERALD_METRICS", "no", "HERALD_METRICS must be one of on, off"),
        ("HERALD_METRICS_FLUSH_SECONDS", "600", "from 0.1 to 60 seconds"),
        ("HERALD_PROMETHEUS_KEY", "short", "at least 32 characters"),
        ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=Key", "Authorization=AAD"),
    ],
)
def test_a_bad_metrics_setting_is_named(setting: str, value: str, message: str) -> None:
    env = {**STORAGE, "APPLICATIONINSIGHTS_CONNECTION_STRING": INSIGHTS, setting: value}
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env)


def test_application_insights_signs_in_as_the_functions_host_does() -> None:
    env = {"APPLICATIONINSIGHTS_CONNECTION_STRING": INSIGHTS}
    assert AppInsightsSettings.from_env(env) == AppInsightsSettings(INSIGHTS)
    entra = {**env, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD;ClientId=c1"}
    assert AppInsightsSettings.from_env(entra) == AppInsightsSettings(INSIGHTS, True, "c1")
    settings = Settings.from_env({**STORAGE, **env, "HERALD_PROMETHEUS_KEY": "k" * 32})
    assert INSIGHTS not in repr(settings)
    assert "k" * 32 not in repr(settings)
