"""Queue `jobs`: one bounded step of one job per message.

A message names a hub, a job and the step it runs. The job's row says which step is next
(``Job.step``) and where it resumes (its cursor); a step handles one block (an import's next
``HERALD_JOB_LINES_PER_STEP`` lines, an export's next page of the registry), stages its part
of the output files as the blocks of that step, records the moved cursor conditionally on the
row's ETag, and answers the message of the next step. The last step commits the files.

Killed anywhere, a step is run again by its message (the queue redelivers it): from the same
cursor, over the same block, staging the same blocks, and applying lines that were already
applied as the no-ops they are then (shared.jobs.importing). Two copies of one step (a message
redelivered while the first run still went on) both run; the ETag lets one record it, the
other stands down. A message for a step already recorded hands on the next step's message, in
case the run that recorded it died before its message was sent. Storage and network failures
are retried by the queue; on the last attempt, and at once for what the user's storage
refuses, the job fails with the reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from shared.engine import Engine, get_engine
from shared.errors import NotFoundError
from shared.hubs.model import Hub
from shared.jobs.container import JobFileError, JobFiles
from shared.jobs.importing import apply_lines
from shared.jobs.lines import Line, one_line, take_lines
from shared.jobs.model import FAILED_FILE, OUTPUT_FILE, Job, JobStatus
from shared.model.installation import Installation
from shared.model.registration import implied_registrations
from shared.registrations.descriptions import description_xml
from shared.store.installations import LostRace
from shared.store.scan import InstallationScanner, ScanFilter, ScanPosition

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # host.json's maxDequeueCount: the last attempt fails the job
READ_BYTES = 1 << 20  # one range read of the import file
MAX_LINE_BYTES = 256 * 1024  # a description is at most 64 KB; longer lines are skipped
STEP_BYTES = 16 << 20  # bytes of the import file one step reads at most


class MalformedStep(ValueError):
    """Not a message Herald wrote; it goes to poison."""


@dataclass(frozen=True)
class StepMessage:
    hub: str
    job_id: str
    step: int


def encode_step(job: Job) -> str:
    return json.dumps({"hub": job.hub, "job": job.job_id, "step": job.step})


def parse_step(body: bytes) -> StepMessage:
    try:
        data = json.loads(body)
        message = StepMessage(str(data["hub"]), str(data["job"]), int(data["step"]))
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedStep(f"not a job step: {error}") from None
    return message


async def handle_job_step(body: bytes, dequeue_count: int) -> list[str]:
    """Run the step ``body`` names; answers the next step's message, if any."""
    message = parse_step(body)
    engine = get_engine()
    try:
        hub = await engine.hubs.get_hub(message.hub)
    except NotFoundError:
        return []  # the hub was deleted: its jobs end with it
    job = await engine.jobs.find_job(hub.name, message.job_id)
    if job is None or job.status.finished:
        return []
    if job.step != message.step:
        # Recorded already: the run that recorded it may have died before its message went.
        return [encode_step(job)] if job.step == message.step + 1 else []
    try:
        job = await _run_step(engine, hub, job)
    except JobFileError as refused:
        job = job.failing(refused.detail)
    except Exception as error:
        if dequeue_count < MAX_ATTEMPTS:
            raise
        log.exception("Hub %s: job %s failed its step %d", hub.name, job.job_id, job.step)
        # Herald's own storage failed, not the user's: its details stay in the log.
        job = job.failing(
            f"Step {job.step} failed {MAX_ATTEMPTS} times ({type(error).__name__}); "
            "the host's log has the details. Submit the job again."
        )
    try:
        job = await engine.jobs.replace_job(job)
    except LostRace:
        return []  # a copy of this step recorded it first
    if job.status.finished:
        log.info(
            "Hub %s: job %s %s: %d lines succeeded, %d failed%s",
            hub.name, job.job_id, job.status.value.lower(), job.succeeded, job.failed,
            f" ({job.failure})" if job.failure else "",
        )  # fmt: skip
        return []
    return [encode_step(job)]


async def _run_step(engine: Engine, hub: Hub, job: Job) -> Job:
    async with JobFiles(job.output_container_uri, job.import_file_uri) as files:
        if job.job_type.imports:
            job, done = await _import_step(engine, hub, job, files)
        else:
            job, done = await _export_step(engine, hub, job, files)
        status = JobStatus.RUNNING
        if done:
            await files.commit(job.file_path(OUTPUT_FILE))
            await files.commit(job.file_path(FAILED_FILE))
            status = JobStatus.COMPLETED
    return replace(job, step=job.step + 1, status=status, updated_at=datetime.now(UTC))


async def _read_block(
    engine: Engine, job: Job, files: JobFiles, size: int
) -> tuple[list[Line], Job]:
    """The step's lines, read range by range from the job's cursor; and the job past them."""
    limit = engine.settings.job_lines_per_step
    cursor, read = job.cursor, 0
    lines: list[Line] = []
    while len(lines) < limit and cursor.offset < size and read < STEP_BYTES:
        chunk = await files.read_input(cursor.offset, min(READ_BYTES, size - cursor.offset))
        read += len(chunk)
        more, cursor = take_lines(
            chunk,
            cursor,
            at_end=cursor.offset + len(chunk) >= size,
            max_lines=limit - len(lines),
            max_line_bytes=MAX_LINE_BYTES,
        )
        lines += more
    return lines, replace(job, cursor=cursor, input_size=size)


def _single_line(text: str) -> str:
    return " ".join(text.split())


async def _import_step(engine: Engine, hub: Hub, job: Job, files: JobFiles) -> tuple[Job, bool]:
    size = job.input_size if job.input_size is not None else await files.input_size()
    lines, job = await _read_block(engine, job, files, size)
    applied = await apply_lines(engine, hub, job.job_id, job.job_type, lines)
    done = [f"{a.line},{one_line(a.output)}\n" for a in applied if a.output is not None]
    failed = [f"{a.line},{_single_line(a.failure or '')}\n" for a in applied if a.output is None]
    if done:
        await files.stage(job.file_path(OUTPUT_FILE), job.step, "".join(done).encode())
    if failed:
        await files.stage(job.file_path(FAILED_FILE), job.step, "".join(failed).encode())
    job = replace(job, succeeded=job.succeeded + len(done), failed=job.failed + len(failed))
    return job, job.cursor.offset >= size


async def _export_step(engine: Engine, hub: Hub, job: Job, files: JobFiles) -> tuple[Job, bool]:
    found, following = await InstallationScanner(engine.tables).page(
        hub.name,
        hub.shard_count,
        job.position,
        ScanFilter(),
        top=engine.settings.job_lines_per_step,
        max_tags=hub.max_tags,
    )
    registrations = [
        registration
        for device in found
        for registration in (
            implied_registrations(device) if isinstance(device, Installation) else [device]
        )
    ]
    lines = [one_line(description_xml(r, etag=None)) + "\n" for r in registrations]
    if lines:
        await files.stage(job.file_path(OUTPUT_FILE), job.step, "".join(lines).encode())
    position = following or ScanPosition(hub.shard_count)
    job = replace(job, position=position, succeeded=job.succeeded + len(lines))
    return job, following is None
