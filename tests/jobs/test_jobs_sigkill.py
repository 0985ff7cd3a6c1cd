"""A host killed (SIGKILL) in the middle of an import: the queue hands the step to the next host,
which runs it again from the cursor the job's row recorded. Every line is applied once, none is
missed, and the output file names each line once."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from registry.storage_view import index_rows, installation_rows

from emulator.pns import RunningSimulators
from shared.engine import Engine
from shared.jobs.lines import job_registration_id
from shared.model.channels import InstallationPlatform
from shared.model.registration import Registration, registration_key
from shared.registrations.descriptions import description_xml
from support.processes import REPO, running_host, spawn_host
from support.stack import NhCaller, create_hub

from .conftest import Container, finished, jobs_env, numbered, submit

pytestmark = pytest.mark.slow

LINES = 1500
LINES_PER_STEP = 400
LEASE_SECONDS = 6  # how long the killed host's step stays hidden before the queue hands it on


async def test_an_import_killed_mid_step_applies_every_line_once(
    azurite: str, sims: RunningSimulators, engine: Engine, container: Container
) -> None:
    hub = await create_hub(azurite, f"kill{uuid.uuid4().hex[:8]}")
    lines = [
        description_xml(
            Registration("ignored", InstallationPlatform.APNS, f"{n:064X}", tags=("all",)),
            etag=None,
        )
        for n in range(1, LINES + 1)
    ]
    await container.put("in.txt", ("\n".join(lines) + "\n").encode())
    env = jobs_env(azurite, sims, HERALD_JOB_LINES_PER_STEP=str(LINES_PER_STEP))

    victim = spawn_host(REPO, env, queue_lease_seconds=LEASE_SECONDS)
    try:
        nh = NhCaller(victim.url, hub)
        job = await submit(
            nh, "ImportCreateRegistrations", container.uri(), container.uri("in.txt")
        )
        deadline = time.monotonic() + 120
        while len(await installation_rows(engine, hub.name)) < LINES_PER_STEP + 100:
            assert time.monotonic() < deadline, "the import did not get into its second step"
            await asyncio.sleep(0.05)
        victim.kill()  # inside the second step: part of its block applied, none recorded
    finally:
        victim.kill()
    written = len(await installation_rows(engine, hub.name))
    assert written < LINES, "the import finished before the host was killed"

    with running_host(REPO, env, queue_lease_seconds=LEASE_SECONDS) as replacement:
        done = await finished(NhCaller(replacement.url, hub), job.job_id, timeout=300)

    assert done.status == "Completed", done.members
    assert (done.properties["SucceededCount"], done.properties["FailedCount"]) == (str(LINES), "0")
    expected = {registration_key(job_registration_id(job.job_id, n)) for n in range(1, LINES + 1)}
    rows = await installation_rows(engine, hub.name)
    assert set(rows) == expected  # no line twice (ids are the lines'), none missed
    assert not any(row.get("Pending") for row in rows.values())
    handles = sorted(str(row["Handle"]) for row in rows.values())
    assert handles == sorted(f"{n:064X}" for n in range(1, LINES + 1))
    assert await index_rows(engine, hub.name) == {("all", key) for key in expected}
    output = await container.text(done.properties["OutputFilePath"])
    assert [int(line.split(",", 1)[0]) for line in output.splitlines()] == list(range(1, LINES + 1))
    assert numbered(await container.text(done.properties["FailedFilePath"])) == {}
