"""The whole local stack (Azurite, the PNS simulators, the host running Herald) and a hub whose
credentials point at the simulators, for what the hub tells about its notifications: the
recent list, app-reported events, traces and the dashboard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sending.conftest import Stack, new_stack

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    env = app_env(azurite, **app_settings(sims.endpoints.to_json()))
    with running_host(REPO, env) as host:
        yield host


@pytest.fixture
async def stack(app: HostProcess, azurite: str, sims: RunningSimulators) -> Stack:
    return await new_stack(app, azurite, sims, "act")


async def details_json(stack: Stack, http: httpx.AsyncClient, notification_id: str) -> Any:
    response = await http.get(
        f"/messages/{notification_id}", headers=stack.nh.headers(Accept="application/json")
    )
    assert response.status_code == 200, response.text
    return response.json()


async def finished_json(
    stack: Stack, http: httpx.AsyncClient, notification_id: str, timeout: float = 120
) -> Any:
    """The notification's JSON telemetry once its send has ended."""
    deadline = time.monotonic() + timeout
    while True:
        details = await details_json(stack, http, notification_id)
        if details["state"] in ("Completed", "NoTargetFound", "Abandoned"):
            return details
        assert time.monotonic() < deadline, f"still {details['state']}"
        await asyncio.sleep(0.2)
