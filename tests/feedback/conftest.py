"""The whole local stack for the feedback processor: Azurite, the PNS simulators, the host, and
a hub whose credentials point at the simulators; plus running the timer on demand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from azure.storage.blob.aio import ContainerClient
from sending.conftest import Stack, new_stack

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from shared.store.feedback import Action, FeedbackEntry
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

# Long enough for a test to see a channel marked expired before the timer deletes it.
DELETE_AFTER_SECONDS = 3


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    settings = app_settings(sims.endpoints.to_json())
    env = app_env(
        azurite, **settings, HERALD_EXPIRED_CHANNEL_DELETE_SECONDS=str(DELETE_AFTER_SECONDS)
    )
    with running_host(REPO, env) as host:
        yield host


@pytest.fixture
async def stack(app: HostProcess, azurite: str, sims: RunningSimulators) -> Stack:
    return await new_stack(app, azurite, sims, "fb")


async def run_timer(app: HostProcess) -> None:
    """One run of the feedback processor, through the host's admin endpoint; 202 once done."""
    async with httpx.AsyncClient(base_url=app.url, timeout=120) as http:
        response = await http.post(
            "/admin/functions/feedback_processor",
            json={"input": ""},
            headers={"x-functions-key": app.master_key},
        )
    assert response.status_code == 202


async def get_installation(stack: Stack, http: httpx.AsyncClient, installation_id: str) -> Any:
    """The installation's GET body, or None when it is gone."""
    response = await http.get(f"/installations/{installation_id}", headers=stack.nh.headers())
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


async def feedback_page(stack: Stack, http: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await http.get("/feedback", params=params, headers=stack.nh.headers())


async def all_feedback(stack: Stack, http: httpx.AsyncClient) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    params: dict[str, str] = {}
    while True:
        response = await feedback_page(stack, http, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        entries += body["feedback"]
        if body["continuationToken"] is None:
            return entries
        params = {"continuationToken": body["continuationToken"]}


async def container_url(stack: Stack) -> str:
    """The hub's feedbackcontainer URL, asked for as the NH SDKs ask."""
    async with stack.nh.client() as http:
        response = await http.get(
            "/feedbackcontainer",
            headers=stack.nh.headers(
                **{"Content-Type": "application/xml;type=entry;charset=utf-8"}
            ),
        )
    assert response.status_code == 200, response.text
    return response.text


async def read_container(url: str) -> dict[str, bytes]:
    """Every blob the container lists, read with the Blob client."""
    async with ContainerClient.from_container_url(url) as container:
        names = [blob.name async for blob in container.list_blobs()]
        return {name: await (await container.download_blob(name)).readall() for name in names}


def history_entry(
    platform: str, handle: str, reported_at: datetime, action: Action = Action.EXPIRED
) -> FeedbackEntry:
    """A history row for an expired handle, reported (and applied) at ``reported_at``."""
    return FeedbackEntry(
        platform=platform,
        handle=handle,
        installation_id="",
        action=action,
        outcome="expired_handle",
        reason="Unregistered",
        reported_at=reported_at,
        applied_at=reported_at,
    )
