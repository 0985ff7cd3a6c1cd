from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.processes import HostProcess, running_host

TEST_APP = Path(__file__).resolve().parents[1] / "apps" / "emulator_app"
HOST_KEY = "test-host-key"


@pytest.fixture(scope="module")
def host(azurite: str) -> Iterator[HostProcess]:
    """One emulator process running the test app against this module's Azurite."""
    env = {"AzureWebJobsStorage": azurite, "WORK_QUEUE": "work", "TICK_SCHEDULE": "0 0 0 1 1 *"}
    with running_host(TEST_APP, env, host_keys=(HOST_KEY,)) as process:
        yield process
