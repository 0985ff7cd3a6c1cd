"""The job worker's steps called in-process against Azurite: a step that keeps failing is retried
by the queue and fails the job on its last attempt; and messages for steps already recorded."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

import shared.engine as engine_module
from emulator.azurite import blob_origin
from shared.config import Settings
from shared.engine import Engine
from shared.hubs.model import Hub
from shared.jobs import worker
from shared.jobs.model import Job, JobStatus, JobType, new_job_id
from support.stack import app_env

from .conftest import Container


@pytest.fixture
async def local_engine(azurite: str) -> AsyncIterator[Engine]:
    """The engine the worker's ``get_engine`` answers in this test's event loop."""
    settings = Settings.from_env(app_env(azurite))
    settings = dataclasses.replace(
        settings, job_allowed_test_hosts=(blob_origin(azurite),), job_lines_per_step=1
    )
    engine = Engine.build(settings)
    engine_module._engines[asyncio.get_running_loop()] = engine
    yield engine
    await engine.aclose()


async def _job(engine: Engine, container: Container) -> tuple[Job, bytes]:
    hub = await engine.hubs.create_hub(Hub.new(f"worker{new_job_id()[:10]}"))
    await container.put("in.txt", b"<x/>\n<y/>\n<z/>\n")  # three steps of one line
    job = Job(hub.name, new_job_id(), JobType.UPSERT, container.uri(), container.uri("in.txt"))
    job = await engine.jobs.create_job(job)
    return job, worker.encode_step(job).encode()


async def test_a_step_failing_every_attempt_fails_the_job_on_the_last(
    local_engine: Engine, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> list[object]:
        raise RuntimeError("storage at https://secret.table.core.windows.net is down")

    monkeypatch.setattr(worker, "apply_lines", broken)
    job, message = await _job(local_engine, container)
    for attempt in range(1, worker.MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            await worker.handle_job_step(message, attempt)
        assert (await local_engine.jobs.get_job(job.hub, job.job_id)).status is JobStatus.STARTED
    assert await worker.handle_job_step(message, worker.MAX_ATTEMPTS) == []
    failed = await local_engine.jobs.get_job(job.hub, job.job_id)
    assert failed.status is JobStatus.FAILED
    assert failed.failure is not None
    assert "failed 5 times (RuntimeError)" in failed.failure
    assert "secret" not in failed.failure  # Herald's own storage is not the user's business


async def test_a_message_for_a_recorded_step_hands_on_the_next_only_if_just_behind(
    local_engine: Engine, container: Container
) -> None:
    job, first = await _job(local_engine, container)
    (second,) = await worker.handle_job_step(first, 1)
    assert json.loads(second)["step"] == 1
    # Delivered again (its run died before its message went?): the next step's message again.
    assert await worker.handle_job_step(first, 2) == [second]
    (third,) = await worker.handle_job_step(second, 1)
    assert await worker.handle_job_step(first, 3) == []  # two behind: no more copies
    assert await worker.handle_job_step(third, 1) == []  # the last step
    done = await local_engine.jobs.get_job(job.hub, job.job_id)
    assert done.status is JobStatus.COMPLETED
    assert (done.succeeded, done.failed) == (0, 3)  # <x/> is no registration description
    assert await worker.handle_job_step(second, 2) == []  # finished: nothing more
