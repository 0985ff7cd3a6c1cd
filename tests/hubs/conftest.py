"""Deleting hubs through the whole local stack: Azurite, the PNS simulators, the host (whose
purge deletes a few dozen rows per run, so a small hub takes several runs), and the admin CLI
run as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from feedback.conftest import run_timer

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from shared.engine import Engine
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

PURGE_ROWS_PER_RUN = 60


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    env = app_env(
        azurite,
        **app_settings(sims.endpoints.to_json()),
        HERALD_PURGE_ROWS_PER_RUN=str(PURGE_ROWS_PER_RUN),
    )
    with running_host(REPO, env) as host:
        yield host


def admin(azurite: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m shared.admin …`` with the app's settings in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "shared.admin", *args],
        cwd=REPO,
        env={**os.environ, **app_env(azurite)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def admin_json(azurite: str, *args: str) -> Any:
    done = admin(azurite, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def purge_until_free(app: HostProcess, engine: Engine, hub: str, timeout: float) -> None:
    """Run the timer until the hub's purge has ended."""
    deadline = time.monotonic() + timeout
    while await engine.hubs.get_deleted(hub) is not None:
        assert time.monotonic() < deadline, f"the purge of {hub} did not end"
        await run_timer(app)
        await asyncio.sleep(0.5)  # past its rows, the purge waits out the settling time


__all__ = ["run_timer"]
