"""One device's bad data is that device's outcome, through the whole stack: the rest of its page
gets the notification exactly once, counted at the simulators, and the send completes."""

from __future__ import annotations

import json
import uuid

import pytest

from devstack.simulated import hub_credentials
from emulator.pns import RunningSimulators
from shared.model.channels import InstallationPlatform
from shared.model.installation import Installation
from shared.model.templates import InstallationTemplate
from shared.store.seeding import seed_installations
from support.processes import HostProcess
from support.stack import NhCaller, create_hub, engine_for

from .conftest import NS, Stack, outcome_counts

pytestmark = pytest.mark.slow

GOOD_DEVICES = 1_099  # with the bad one, a full page of 1,000 and a second page, on one shard


async def test_a_device_whose_template_header_no_client_can_send_fails_alone(
    app: HostProcess, azurite: str, sims: RunningSimulators
) -> None:
    await sims.control.reset()
    credentials = hub_credentials(sims.endpoints.to_json(), sims.state_dir)
    hub = await create_hub(
        azurite, f"iso{uuid.uuid4().hex[:10]}", credentials=credentials, shard_count=1
    )
    good = [
        Installation(
            installation_id=f"dev{n:05d}",
            platform=InstallationPlatform.APNS,
            push_channel=f"{n:064x}",
            templates={"main": InstallationTemplate('{"aps":{"alert":"$(msg)"}}')},
        )
        for n in range(GOOD_DEVICES)
    ]
    # Registered before headers were checked at write time: storage still holds such devices.
    bad = Installation(
        installation_id="dev00500x",
        platform=InstallationPlatform.WNS,
        push_channel=sims.endpoints.wns_channel_base + "f" * 64,
        templates={
            "main": InstallationTemplate(
                "<toast><visual><binding template='ToastText01'><text id='1'>$(msg)</text>"
                "</binding></visual></toast>",
                headers={"X-WNS-Type": "wns/toast", "X-WNS-Tag": "a\x01b"},
            )
        },
    )
    engine = engine_for(azurite)
    try:
        await seed_installations(engine.tables, hub.name, 1, [*good, bad])
    finally:
        await engine.aclose()
    stack = Stack(sims, NhCaller(app.url, hub))
    async with stack.nh.client() as http:
        notification = await stack.send(http, json.dumps({"msg": "hi"}), "template")
        report = await stack.finished(http, notification, timeout=180)
        failures = await http.get(
            f"/messages/{notification}",
            headers=stack.nh.headers(Accept="application/json"),
        )
    apns = await stack.counts("apns")
    assert apns == {installation.handle: 1 for installation in good}
    assert await stack.counts("wns") == {}
    assert report.findtext(f"{NS}State") == "Completed"
    assert outcome_counts(report)["Apns"] == {"Success": GOOD_DEVICES}
    (failure,) = failures.json()["failures"]["items"]
    assert failure["installationId"] == "dev00500x"
    assert "x-wns-tag" in failure["reason"]
    assert "visible ASCII" in failure["reason"]


async def test_an_installation_id_no_installation_can_have_is_a_400(
    app: HostProcess, azurite: str, sims: RunningSimulators
) -> None:
    hub = await create_hub(azurite, f"iso{uuid.uuid4().hex[:10]}")
    stack = Stack(sims, NhCaller(app.url, hub))
    async with stack.nh.client() as http:
        for test in ({}, {"test": "true"}):
            response = await http.post(
                "/messages/",
                params=test,
                content=b'{"aps":{}}',
                headers=stack.nh.headers(
                    **{
                        "ServiceBusNotification-Format": "apple",
                        "ServiceBusNotification-Tags": "$InstallationId:{a/b}",
                        "Content-Type": "application/json",
                    }
                ),
            )
            assert response.status_code == 400
            assert response.text.startswith("<Error><Code>400</Code>")
            assert "not a valid installation id" in response.text
