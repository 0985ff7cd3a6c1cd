"""A host reads and delivers at most HERALD_PAGES_IN_FLIGHT pages of a send at once, whatever
the audience and however many steps the queue trigger hands it: its memory stays flat."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sending.conftest import Stack, new_stack, outcome_counts

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from shared.store.keys import shard_of
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

PAGES_IN_FLIGHT = 2
LATENCY = 0.25  # seconds the APNs simulator holds each answer
DEVICES = 48  # three per shard of a 16-shard hub: each shard's walk is one page


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    settings = {**app_settings(sims.endpoints.to_json())}
    env = app_env(azurite, **settings, HERALD_PAGES_IN_FLIGHT=str(PAGES_IN_FLIGHT))
    with running_host(REPO, env) as host:
        yield host


@pytest.fixture
async def stack(app: HostProcess, azurite: str, sims: RunningSimulators) -> Stack:
    return await new_stack(app, azurite, sims, "slots")


async def test_pages_beyond_the_limit_wait_for_a_slot(stack: Stack) -> None:
    shard_count = stack.nh.hub.shard_count
    async with stack.nh.client() as http:
        devices = [await stack.device("apns") for _ in range(DEVICES)]
        for device in devices:
            await stack.register(http, device)
        await stack.sims.control.set_faults("apns", latency_ms=LATENCY * 1000)
        # A broadcast is walked shard by shard (a small tag's audience is delivered at once).
        notification = await stack.send(http, '{"aps":{"alert":"hi"}}', "apple")
        details = await stack.finished(http, notification)
    shards = {d.sim_key: shard_of(d.installation_id, shard_count) for d in devices}
    records = await stack.sims.control.records("apns")
    assert sorted(r["handle"] for r in records) == sorted(shards)
    assert outcome_counts(details) == {"Apns": {"Success": DEVICES}}
    # A page's requests leave only once a slot is free, that is after an earlier page's answers
    # came back, a full LATENCY after its requests arrived. So within any LATENCY before an
    # arrival, at most PAGES_IN_FLIGHT pages (here: shards) can have arrived.
    times = sorted((float(r["time"]), shards[r["handle"]]) for r in records)
    busiest = max(
        len({shard for at, shard in times if now - LATENCY < at <= now}) for now, _ in times
    )
    assert len({shard for _, shard in times}) > PAGES_IN_FLIGHT
    assert busiest <= PAGES_IN_FLIGHT
