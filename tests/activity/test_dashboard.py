"""The dashboard in headless Chromium (Debian's ``chromium``, driven by playwright-core) against
the live local stack: after a send, the page lists it with its counts, opens its details with
the failed handle, traces a device, and draws the hub's live metrics; without a metrics route
it says so. Screenshots are kept in test-artifacts/dashboard/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
from sending.conftest import Stack

from shared.auth.sas import format_connection_string
from shared.hubs.model import FULL_POLICY
from support.node import run_node
from support.processes import REPO, HostProcess

from .conftest import finished_json

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
DRIVER = Path(__file__).with_name("drive_dashboard.mjs")


async def _drive(arguments: dict[str, Any]) -> dict[str, Any]:
    return await run_node(DRIVER, json.dumps(arguments))


async def test_the_dashboard_shows_a_send_its_counts_and_its_failed_handle(
    stack: Stack, app: HostProcess
) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: `make install` (or apt-get install chromium)"
    async with stack.nh.client() as http:
        phones = [await stack.device("apns") for _ in range(3)]
        for phone in phones:
            await stack.register(http, phone, tags=["promo"])
        dead = phones[2]
        await stack.sims.control.mark_handle("apns", dead.sim_key)
        sent = await stack.send(http, '{"aps":{"alert":"Sale"}}', "apple", "promo")
        await finished_json(stack, http, sent)
        opened = await http.post(
            f"/messages/{sent}/events",
            json={"installationId": phones[0].installation_id, "kind": "opened"},
            headers=stack.nh.headers(),
        )
        assert opened.status_code == 204

    hub = stack.nh.hub
    full = hub.policies[FULL_POLICY]
    port = httpx.URL(app.url).port
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    seen = await _drive(
        {
            "base": app.url,
            "connectionString": format_connection_string(
                f"sb://localhost:{port}/", full.name, full.primary_key
            ),
            "wrongConnectionString": format_connection_string(
                f"sb://localhost:{port}/", full.name, full.secondary_key[::-1]
            ),
            "hub": hub.name,
            "notificationId": sent,
            "installationId": dead.installation_id,
            "artifacts": str(ARTIFACTS),
        }
    )

    assert "401" in seen["signInError"]
    assert seen["panelHiddenAfterRefusal"] is True
    # The list: format, audience, state, delivered, failed, opened.
    assert seen["row"][2:] == ["apple", "promo", "Completed", "2", "1", "1"]
    assert seen["storedSession"] is True
    assert seen["detailsId"] == sent
    assert "opened 1" in seen["summary"]
    [failure] = seen["failures"]
    assert failure[1:3] == [dead.installation_id, dead.channel]
    assert failure[4] == "ExpiredChannel"
    [traced] = [row for row in seen["trace"] if row[1] == sent[-12:]]
    assert traced[4] == "failed"
    assert "ExpiredChannel" in traced[5]
    # The hub's live metrics, drawn: the send's deliveries, its dead handle among the
    # failures, the three registrations in the registry's size, the platform table.
    assert seen["metricsHidden"] is True
    assert seen["chartsShown"] is True
    assert seen["chartBars"] > 0
    assert "expired_handle" in seen["failureBars"]
    assert "delivered" not in seen["failureBars"]
    assert seen["registryBars"][:2] == ["apns", "3"]
    assert "apns" in seen["platformTable"]
    # Without a metrics route (metrics off): said, not broken.
    assert "404" in seen["metricsMessage"]
    assert seen["chartsHiddenWithoutMetrics"] is True
    # Nothing but this origin was asked for anything, and the page raised no error.
    assert seen["foreignRequests"] == []
    assert seen["consoleErrors"] == []
    for shot in ("dashboard.png", "dashboard-no-metrics.png"):
        assert (ARTIFACTS / shot).stat().st_size > 10_000
