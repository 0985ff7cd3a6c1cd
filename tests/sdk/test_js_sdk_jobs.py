"""The official NH JS SDK's four job calls, unmodified, against the Herald app, with the user's
container in Azurite: submit, the poller of beginSubmitNotificationHubJob until Completed, get
and list; and a job the poller sees fail.

``jobs.mjs`` runs the calls and prints what each returned.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs.conftest import Container, jobs_env

from emulator.pns import RunningSimulators
from shared.model.channels import InstallationPlatform
from shared.model.registration import Registration
from shared.registrations.descriptions import description_xml
from support.node import loopback_connection_string, run_node
from support.processes import REPO, HostProcess, running_host
from support.stack import NhCaller, create_hub

SCRIPT = Path(__file__).with_name("jobs.mjs")
IDS = [f"sdk-job-{n}" for n in range(5)]


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    with running_host(REPO, jobs_env(azurite, sims)) as host:
        yield host


@pytest.fixture(scope="module")
async def container(azurite: str) -> AsyncIterator[Container]:
    made = await Container(azurite, f"sdk{uuid.uuid4().hex[:12]}").create()
    yield made
    await made.aclose()


@pytest.fixture(scope="module")
async def sdk(app: HostProcess, azurite: str, container: Container) -> dict[str, Any]:
    hub = await create_hub(azurite, f"sdkjobs{uuid.uuid4().hex[:10]}")
    lines = [
        description_xml(
            Registration(name, InstallationPlatform.APNS, f"{n:064X}", tags=("sdk",)), etag=None
        )
        for n, name in enumerate(IDS, 1)
    ]
    await container.put("in/upsert.txt", ("\n".join(lines) + "\n").encode())
    connection = loopback_connection_string(NhCaller(app.url, hub))
    result = await run_node(
        SCRIPT, connection, hub.name, app.url, container.uri(), container.uri("in/upsert.txt")
    )
    result["hub"] = hub.name
    return result


def value(sdk: dict[str, Any], step: str) -> Any:
    outcome = sdk[step]
    assert outcome["ok"], f"{step} failed: {outcome['error']}"
    return outcome["value"]


def test_submit_answers_the_started_job(sdk: dict[str, Any], container: Container) -> None:
    submitted = value(sdk, "submit")
    assert submitted["type"] == "ExportRegistrations"
    assert submitted["status"] == "Started"
    assert len(submitted["jobId"]) == 32
    assert submitted["outputContainerUrl"] == container.uri().split("?")[0]
    assert submitted["progress"] == 0


async def test_the_poller_reaches_completed_and_the_registrations_are_there(
    sdk: dict[str, Any], container: Container
) -> None:
    done = value(sdk, "poll")
    assert done["status"] == "Completed"
    assert done["type"] == "ImportUpsertRegistrations"
    assert done["progress"] == 100
    assert done["outputProperties"]["OutputFilePath"] == f"{sdk['hub']}/{done['jobId']}/Output.txt"
    assert done["outputProperties"]["FailedFilePath"].endswith("/Failed.txt")
    output = await container.text(done["outputProperties"]["OutputFilePath"])
    assert [line.split(",", 1)[0] for line in output.splitlines()] == ["1", "2", "3", "4", "5"]
    for name in IDS:
        assert f"<RegistrationId>{name}</RegistrationId>" in output


def test_get_and_list_read_the_jobs_back(sdk: dict[str, Any]) -> None:
    submitted = value(sdk, "submit")
    got = value(sdk, "get")
    assert got["jobId"] == submitted["jobId"]
    assert got["type"] == "ExportRegistrations"
    assert got["status"] in ("Started", "Running", "Completed")
    assert got["createdAt"] == submitted["createdAt"]
    listed = value(sdk, "list")
    assert [job["jobId"] for job in listed][:2] == [submitted["jobId"], value(sdk, "poll")["jobId"]]
    assert {job["type"] for job in listed} == {"ExportRegistrations", "ImportUpsertRegistrations"}


def test_the_poller_of_a_failing_job_throws_its_failure(sdk: dict[str, Any]) -> None:
    failing = sdk["failing"]
    assert not failing["ok"]
    assert "not a Blob SAS URI" in failing["error"]["message"]
