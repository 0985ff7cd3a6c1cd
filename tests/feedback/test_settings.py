"""The feedback processor's settings: defaults, values, and one sentence for a bad one."""

from __future__ import annotations

import pytest

from shared.config import Settings
from shared.errors import ConfigurationError

STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}


def test_the_defaults_bound_each_run_and_never_delete() -> None:
    settings = Settings.from_env(STORAGE)
    assert settings.feedback_reports_per_run == 5000
    assert settings.expiry_pages_per_run == 10
    assert settings.expired_channel_delete_seconds is None
    assert settings.feedback_history_days == 30
    assert settings.purge_rows_per_run == 50_000


def test_the_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            **STORAGE,
            "HERALD_FEEDBACK_REPORTS_PER_RUN": "200",
            "HERALD_EXPIRY_PAGES_PER_RUN": "3",
            "HERALD_EXPIRED_CHANNEL_DELETE_SECONDS": "0",
            "HERALD_FEEDBACK_HISTORY_DAYS": " 90 ",
            "HERALD_PURGE_ROWS_PER_RUN": "1000",
        }
    )
    assert settings.feedback_reports_per_run == 200
    assert settings.expiry_pages_per_run == 3
    assert settings.expired_channel_delete_seconds == 0.0
    assert settings.feedback_history_days == 90
    assert settings.purge_rows_per_run == 1000


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("HERALD_FEEDBACK_REPORTS_PER_RUN", "0"),
        ("HERALD_FEEDBACK_REPORTS_PER_RUN", "many"),
        ("HERALD_EXPIRY_PAGES_PER_RUN", "²"),
        ("HERALD_EXPIRED_CHANNEL_DELETE_SECONDS", "-1"),
        ("HERALD_FEEDBACK_HISTORY_DAYS", "0"),
        ("HERALD_FEEDBACK_HISTORY_DAYS", "junk"),
        ("HERALD_FEEDBACK_HISTORY_DAYS", "-30"),
        ("HERALD_FEEDBACK_HISTORY_DAYS", "7.5"),
        ("HERALD_PURGE_ROWS_PER_RUN", "0"),
        ("HERALD_PURGE_ROWS_PER_RUN", "50k"),
    ],
)
def test_a_bad_value_names_its_setting(setting: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        Settings.from_env({**STORAGE, setting: value})
