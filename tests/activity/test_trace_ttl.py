"""A delivery that outlives its send's time to live is dropped, and the trace says so."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sending.conftest import Stack

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

from .conftest import finished_json


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    settings = app_settings(sims.endpoints.to_json())
    env = app_env(azurite, **settings, HERALD_NOTIFICATION_TTL_SECONDS="1")
    with running_host(REPO, env) as host:
        yield host


async def test_a_throttled_delivery_retried_after_the_ttl_is_dropped(stack: Stack) -> None:
    async with stack.nh.client() as http:
        phone = await stack.device("apns")
        await stack.register(http, phone, tags=["news"])
        await stack.sims.control.set_faults(
            "apns", first_n=1, first_n_kind="throttle", retry_after=3
        )
        sent = await stack.send(http, '{"aps":{"alert":"Late"}}', "apple", "news")
        deadline = time.monotonic() + 60
        # Abandoned once the TTL passes; the retry batch, when it runs, names the drop.
        while not (await finished_json(stack, http, sent))["failures"]["items"]:
            assert time.monotonic() < deadline, "the retry batch never ran"
            await asyncio.sleep(0.2)
        answer = await http.get(
            f"/installations/{phone.installation_id}/trace",
            params={"notificationId": sent},
            headers=stack.nh.headers(),
        )
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["notifications"]
    assert entry["verdict"] == "dropped"
    assert entry["reasons"] == ["droppedAfterTtl"]
    assert [f["outcome"] for f in entry["failures"]] == ["Dropped"]
    assert await stack.counts("apns") == {}  # never delivered
