"""NH's jobs API: ``POST /{hub}/jobs``, ``GET /{hub}/jobs`` and ``GET /{hub}/jobs/{jobId}``,
all with the Manage right, on every hub (NH offers jobs on its Standard tier only).

POST answers 201 with the job as NH's Atom entry and queues its first step; a malformed
request (no type, an unknown one, no container, an import without its file) is a 400. A
container or file URI that is not a Blob SAS URI, or that names a host Herald may not call,
makes a job that is Failed from the start, with the reason, as a job whose files cannot be
read fails: such a job never touches the network. GET answers one job, or every job of the
hub as an Atom feed, oldest first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shared.auth.sas import AccessRight
from shared.engine import Engine, get_engine
from shared.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.jobs.container import check_container_uri, check_file_uri
from shared.jobs.model import Job, new_job_id
from shared.jobs.wire import JobRequest, job_xml, parse_job_request
from shared.jobs.worker import encode_step
from shared.registrations.atom import ENTRY_CONTENT_TYPE, FEED_CONTENT_TYPE, entry_xml, feed_xml
from shared.registrations.entries import atom_time, request_url, resource_url
from shared.registry.api import caller_of

MAX_BODY_BYTES = 64 * 1024
_JOB_ID = re.compile(r"[0-9a-f]{32}")


def _entry(request: HttpRequestData, hub: Hub, job: Job) -> str:
    link = resource_url(request, hub, f"jobs/{job.job_id}")
    return entry_xml(
        entry_id=link,
        title=job.job_id,
        updated=atom_time(job.updated_at),
        etag=None,
        self_link=link,
        content=job_xml(job),
    )


def _checked(engine: Engine, asked: JobRequest, job: Job) -> Job:
    """``job``, or ``job`` failed when a URI is not one Herald may use."""
    hosts = engine.settings.job_allowed_test_hosts
    try:
        check_container_uri(asked.output_container_uri, allowed_test_hosts=hosts)
        if asked.import_file_uri is not None:
            check_file_uri(asked.import_file_uri, allowed_test_hosts=hosts)
    except BadRequestError as refused:
        return job.failing(refused.detail)
    return job


async def _submit(
    engine: Engine, hub: Hub, request: HttpRequestData
) -> tuple[HttpAnswer, list[str]]:
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError("The request body is larger than 64 KB.")
    asked = parse_job_request(request.body)
    now = datetime.now(UTC)
    job = Job(
        hub=hub.name,
        job_id=new_job_id(),
        job_type=asked.job_type,
        output_container_uri=asked.output_container_uri,
        import_file_uri=asked.import_file_uri,
        created_at=now,
        updated_at=now,
        shard_count=hub.shard_count,
    )
    job = await engine.jobs.create_job(_checked(engine, asked, job))
    headers = {
        "Content-Type": ENTRY_CONTENT_TYPE,
        "Location": resource_url(request, hub, f"jobs/{job.job_id}"),
    }
    answer = HttpAnswer(201, _entry(request, hub, job).encode(), headers)
    return answer, [] if job.status.finished else [encode_step(job)]


async def _get(engine: Engine, hub: Hub, request: HttpRequestData, job_id: str) -> HttpAnswer:
    if not _JOB_ID.fullmatch(job_id):
        raise NotFoundError(f"The hub {hub.name!r} has no job {job_id!r}.")
    job = await engine.jobs.get_job(hub.name, job_id)
    return HttpAnswer(200, _entry(request, hub, job).encode(), {"Content-Type": ENTRY_CONTENT_TYPE})


async def _list(engine: Engine, hub: Hub, request: HttpRequestData) -> HttpAnswer:
    jobs = await engine.jobs.list_jobs(hub.name)
    feed = feed_xml(
        feed_id=request_url(request),
        updated=atom_time(None),
        entries=[_entry(request, hub, job) for job in jobs],
        title="Jobs",
    )
    return HttpAnswer(200, feed.encode(), {"Content-Type": FEED_CONTENT_TYPE})


async def handle_jobs(request: HttpRequestData) -> tuple[HttpAnswer, list[str]]:
    """The entry point of the jobs function; answers with the messages to queue."""
    engine = get_engine()
    hub = await engine.hubs.get_hub(request.route["hub"])
    await caller_of(engine, hub, request, AccessRight.MANAGE)
    job_id = request.route.get("jobId")
    if request.method == "POST" and not job_id:
        return await _submit(engine, hub, request)
    if request.method == "GET":
        answer = await (
            _get(engine, hub, request, job_id) if job_id else _list(engine, hub, request)
        )
        return answer, []
    raise BadRequestError(f"{request.method} is not supported here: POST /jobs or GET a job.")
