"""Jobs through the whole local stack: Azurite (tables, queues, and the blob service that holds
the user's container), the PNS simulators, the host, and NH job requests as clients send them."""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)
from azure.storage.blob.aio import BlobServiceClient
from sending.conftest import Stack, new_stack

from devstack.simulated import app_settings
from emulator.azurite import ACCOUNT, ACCOUNT_KEY, blob_origin
from emulator.pns import RunningSimulators
from shared.jobs.wire import job_request_entry
from shared.registrations.atom import ATOM_NS, NH_NS
from support.processes import REPO, HostProcess, running_host
from support.stack import NhCaller, app_env

ENTRY = "application/atom+xml;type=entry;charset=utf-8"
NH = f"{{{NH_NS}}}"
ATOM = f"{{{ATOM_NS}}}"
ARRAYS = "{http://schemas.microsoft.com/2003/10/Serialization/Arrays}"


def jobs_env(storage: str, sims: RunningSimulators, **extra: str) -> dict[str, str]:
    return app_env(
        storage,
        **app_settings(sims.endpoints.to_json()),
        HERALD_JOB_ALLOWED_TEST_HOSTS=blob_origin(storage),
        **extra,
    )


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    with running_host(REPO, jobs_env(azurite, sims, HERALD_JOB_LINES_PER_STEP="50")) as host:
        yield host


@pytest.fixture
async def stack(app: HostProcess, azurite: str, sims: RunningSimulators) -> Stack:
    return await new_stack(app, azurite, sims, "jobs")


class Container:
    """One Blob container in Azurite, and SAS URIs for it and its blobs."""

    def __init__(self, storage: str, name: str) -> None:
        self.name = name
        self._service = BlobServiceClient.from_connection_string(storage)
        self.client = self._service.get_container_client(name)

    async def create(self) -> Container:
        await self.client.create_container()
        return self

    def uri(self, blob: str | None = None, **permissions: bool) -> str:
        expiry = datetime.now(UTC) + timedelta(hours=1)
        if blob is None:
            wanted = permissions or {"read": True, "write": True, "list": True}
            sas = generate_container_sas(
                ACCOUNT,
                self.name,
                account_key=ACCOUNT_KEY,
                permission=ContainerSasPermissions(**wanted),
                expiry=expiry,
            )
            return f"{self.client.url}?{sas}"
        sas = generate_blob_sas(
            ACCOUNT,
            self.name,
            blob,
            account_key=ACCOUNT_KEY,
            permission=BlobSasPermissions(**(permissions or {"read": True})),
            expiry=expiry,
        )
        return f"{self.client.get_blob_client(blob).url}?{sas}"

    async def put(self, blob: str, data: bytes) -> None:
        await self.client.get_blob_client(blob).upload_blob(data, overwrite=True)

    async def text(self, blob: str) -> str:
        download = await self.client.get_blob_client(blob).download_blob()
        return (await download.readall()).decode()

    async def names(self) -> list[str]:
        return [name async for name in self.client.list_blob_names()]

    async def aclose(self) -> None:
        await self.client.close()
        await self._service.close()


@pytest.fixture
async def container(azurite: str) -> AsyncIterator[Container]:
    made = await Container(azurite, f"c{uuid.uuid4().hex[:12]}").create()
    yield made
    await made.aclose()


@dataclass(frozen=True)
class JobView:
    """A NotificationHubJob as the API answered it."""

    members: dict[str, str]
    properties: dict[str, str]

    @classmethod
    def of(cls, element: ET.Element) -> JobView:
        members = {child.tag.removeprefix(NH): child.text or "" for child in element}
        properties = {}
        found = element.find(f"{NH}OutputProperties")
        for pair in [] if found is None else list(found):
            properties[pair.findtext(f"{ARRAYS}Key") or ""] = pair.findtext(f"{ARRAYS}Value") or ""
        return cls(members, properties)

    @property
    def job_id(self) -> str:
        return self.members["JobId"]

    @property
    def status(self) -> str:
        return self.members["Status"]


def parse_entry(body: bytes) -> JobView:
    root = ET.fromstring(body)
    job = root.find(f"{ATOM}content/{NH}NotificationHubJob")
    assert job is not None, body
    return JobView.of(job)


async def submit(
    nh: NhCaller, job_type: str, output: str, import_file: str | None = None
) -> JobView:
    async with nh.client() as http:
        answer = await http.post(
            "/jobs",
            content=job_request_entry(job_type, output, import_file),
            headers=nh.headers(**{"Content-Type": ENTRY}),
        )
    assert answer.status_code == 201, answer.text
    return parse_entry(answer.content)


async def finished(nh: NhCaller, job_id: str, timeout: float = 180) -> JobView:
    """Poll the job until it is Completed or Failed."""
    deadline = time.monotonic() + timeout
    async with nh.client() as http:
        while True:
            answer = await http.get(f"/jobs/{job_id}", headers=nh.headers())
            assert answer.status_code == 200, answer.text
            job = parse_entry(answer.content)
            if job.status in ("Completed", "Failed"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} is still {job.status}"
            await asyncio.sleep(0.2)


async def run_job(
    nh: NhCaller, job_type: str, output: str, import_file: str | None = None
) -> JobView:
    job = await submit(nh, job_type, output, import_file)
    return await finished(nh, job.job_id)


def numbered(text: str) -> dict[int, str]:
    """An Output.txt or Failed.txt of an import: line number -> the rest of the line."""
    found = {}
    for line in text.splitlines():
        number, _, rest = line.partition(",")
        found[int(number)] = rest
    return found
