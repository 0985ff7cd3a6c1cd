"""The Herald app under the emulator, with the Azurite the emulator starts for itself."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx

from support.processes import REPO, running_host


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_health_reports_version_and_storage_through_self_started_azurite() -> None:
    env = {"AzureWebJobsStorage": "", "HERALD_FEEDBACK_SCHEDULE": "0 */5 * * * *"}
    with running_host(REPO, env) as host:
        async with httpx.AsyncClient(base_url=host.url) as client:
            response = await client.get("/health")
        ready = json.loads(next(Path(host.log_path.parent).glob("ready.json")).read_text())
        table_port = int(re.search(r"TableEndpoint=http://127.0.0.1:(\d+)", ready["storage"])[1])
        assert _port_open(table_port)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["storage"]["reachable"] is True
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"])
    # Stopping the host stopped the Azurite it started.
    assert not _port_open(table_port)


async def test_health_says_unhealthy_when_storage_is_unreachable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_port = unused.getsockname()[1]
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"TableEndpoint=http://127.0.0.1:{dead_port}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{dead_port}/devstoreaccount1;"
    )
    env = {"AzureWebJobsStorage": conn, "HERALD_FEEDBACK_SCHEDULE": "0 */5 * * * *"}
    with running_host(REPO, env) as host:
        async with httpx.AsyncClient(base_url=host.url, timeout=30) as client:
            response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["storage"]["reachable"] is False
