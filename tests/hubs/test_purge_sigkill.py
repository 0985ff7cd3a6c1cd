"""A host killed (SIGKILL) in the middle of a purge leaves the hub's name taken, and the next
host's run finishes the purge: nothing of the hub is left."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import httpx
import pytest

from shared.engine import Engine
from shared.model.installation import parse_installation
from shared.store.keys import hub_range
from shared.store.seeding import seed_installations
from shared.store.tables import HUBS, INSTALLATIONS
from support.processes import REPO, running_host, spawn_host
from support.stack import app_env, create_hub

from .conftest import purge_until_free, run_timer
from .storage import rows_of

pytestmark = pytest.mark.slow

DEVICES = 4000


async def _installations_left(engine: Engine, hub: str) -> int:
    low, high = hub_range(hub)
    table = await engine.tables.get(INSTALLATIONS)
    rows = table.query_entities(
        "PartitionKey ge @low and PartitionKey lt @high",
        parameters={"low": low, "high": high},
        select=["RowKey"],
    )
    return len([row async for row in rows])


async def test_a_purge_killed_mid_run_is_finished_by_the_next_run(
    azurite: str, engine: Engine
) -> None:
    hub = await create_hub(azurite, f"kill{uuid.uuid4().hex[:8]}")
    devices = [
        parse_installation(
            {
                "installationId": f"dev{n:05d}",
                "platform": "apns",
                "pushChannel": f"{n:064x}",
                "tags": ["all", f"group{n % 10}"],
            },
            max_tags=60,
        )
        for n in range(DEVICES)
    ]
    await seed_installations(engine.tables, hub.name, hub.shard_count, devices)
    await engine.hubs.delete_hub(hub.name)
    env = app_env(azurite, HERALD_PURGE_ROWS_PER_RUN="1000000")  # one run would purge it all

    victim = spawn_host(REPO, env)
    try:
        run = asyncio.create_task(run_timer(victim))
        deadline = time.monotonic() + 120
        while await _installations_left(engine, hub.name) > DEVICES - 300:
            assert time.monotonic() < deadline, "the purge did not start"
            assert not run.done(), "the run ended before the purge began"
            await asyncio.sleep(0.1)
        victim.kill()
        with contextlib.suppress(httpx.HTTPError):
            await run
    finally:
        victim.kill()

    left = await rows_of(engine, hub.name)
    assert (HUBS, "hub", hub.name) in left  # the tombstone: the name is still taken
    assert len(left) > DEVICES, "the run finished before it was killed"
    with running_host(REPO, env) as replacement:
        await purge_until_free(replacement, engine, hub.name, timeout=180)
    assert await rows_of(engine, hub.name) == set()
