"""A hub deleted with ``python -m shared.admin delete`` is gone: it answers 404 at once, sends
queued for it end quietly, the timer purges everything it stored, its name is refused until
then, and a new hub of the same name has none of the old devices."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from azure.core.exceptions import ResourceNotFoundError
from sending.conftest import NS, Device, Stack, new_stack
from sending.test_send_basics import TEMPLATES

from devstack.simulated import hub_credentials
from emulator.pns import RunningSimulators
from shared.engine import Engine
from shared.fanout.messages import Plan, Retry, Scan, encode
from shared.fanout.retries import DELIVERIES_QUEUE
from shared.messages import FANOUT_QUEUE
from support.processes import HostProcess
from support.queues import depth
from support.stack import NhCaller, replace_hub

from .conftest import admin, admin_json, purge_until_free, run_timer
from .storage import rows_of

GREETING = json.dumps({"greeting": "Hello", "name": "you"})


def _templates(platform: str) -> dict[str, Any]:
    return {"main": {"body": TEMPLATES[platform], "tags": ["templated"]}}


async def _fill(stack: Stack, http: httpx.AsyncClient, devices: int) -> list[Device]:
    """Devices on two platforms with tags, users and templates; a send to them, a dead
    handle's report applied, and a send scheduled a month ahead."""
    registered = []
    for n in range(devices):
        device = await stack.device(("apns", "fcmv1")[n % 2])
        await stack.register(
            http,
            device,
            tags=["news", f"group{n % 3}"],
            userId=f"user{n % 4}",
            templates=_templates(device.platform),
        )
        registered.append(device)
    await stack.sims.control.mark_handle(registered[0].sim, registered[0].sim_key, "dead")
    await stack.finished(http, await stack.send(http, GREETING, "template", "news"))
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    response = await http.post(
        "/schedulednotifications",
        content=GREETING,
        headers=stack.nh.headers(
            **{
                "ServiceBusNotification-Format": "template",
                "ServiceBusNotification-ScheduleTime": later,
                "Content-Type": "application/json",
            }
        ),
    )
    assert response.status_code == 201, response.text
    return registered


async def _until_gone(stack: Stack, device: Device, timeout: float = 30) -> None:
    """Hubs are cached for 10 s per process: poll until the host answers 404."""
    deadline = time.monotonic() + timeout
    async with stack.nh.client() as http:
        while True:
            response = await http.get(
                f"/installations/{device.installation_id}", headers=stack.nh.headers()
            )
            if response.status_code == 404:
                return
            assert time.monotonic() < deadline, f"still {response.status_code}"
            await asyncio.sleep(0.2)


async def _queued_steps_end_quietly(
    engine: Engine, app: HostProcess, azurite: str, hub: str
) -> None:
    """A plan, a walk step and a retry of the deleted hub's sends, as if queued before the
    delete: each runs once, succeeds, and leaves no row and nothing in poison."""
    notification = "0" * 32
    fanout, deliveries = engine.queue(FANOUT_QUEUE), engine.queue(DELIVERIES_QUEUE)
    sent = [
        await fanout.send_message(encode(Plan(hub, notification))),
        await fanout.send_message(encode(Scan(hub, notification, 3, 0, None))),
        await deliveries.send_message(encode(Retry(hub, notification, "s~0003.r1.0", 1, []))),
    ]
    deadline = time.monotonic() + 60
    for message in sent:
        done = re.compile(rf"message {message.id}, dequeue count (\d+)\) in \S+ ms: (\w+)")
        while not (found := done.findall(app.log())):
            assert time.monotonic() < deadline, f"message {message.id} did not run"
            await asyncio.sleep(0.2)
        assert found == [("1", "Succeeded")]
    assert app.log().count(f"Hub {hub}, notification {notification}: ") == len(sent)
    for queue in (f"{FANOUT_QUEUE}-poison", f"{DELIVERIES_QUEUE}-poison"):
        with contextlib.suppress(ResourceNotFoundError):  # never created: nothing went there
            assert await depth(azurite, queue) == 0
    assert not {row for row in await rows_of(engine, hub) if notification in row[1]}


async def test_a_deleted_hub_is_gone_and_a_new_hub_of_its_name_starts_empty(
    app: HostProcess, azurite: str, sims: RunningSimulators, engine: Engine
) -> None:
    neighbour = await new_stack(app, azurite, sims, "near")
    stack = await new_stack(app, azurite, sims, "gone")
    name = stack.nh.hub.name
    async with neighbour.nh.client() as http:
        kept = await _fill(neighbour, http, devices=3)
    async with stack.nh.client() as http:
        devices = await _fill(stack, http, devices=24)
    await run_timer(app)  # applies the dead handle's report: the hub has feedback history
    kept_rows = await rows_of(engine, neighbour.nh.hub.name)
    stored = await rows_of(engine, name)
    assert {table for table, _, _ in stored} >= {
        "installations", "tagindex", "notifications", "feedback", "scheduled"
    }  # fmt: skip

    deleted = admin_json(azurite, "delete", name)

    assert deleted["deleted"] == name
    await _until_gone(stack, devices[1])
    async with stack.nh.client() as http:
        listing = await http.get("/installations", headers=stack.nh.headers())
        send = await http.post(
            "/messages/",
            content=GREETING,
            headers=stack.nh.headers(
                **{"ServiceBusNotification-Format": "template", "Content-Type": "application/json"}
            ),
        )
    assert (listing.status_code, send.status_code) == (404, 404)
    await _queued_steps_end_quietly(engine, app, azurite, name)
    refused = admin(azurite, "create", name)
    assert refused.returncode == 1
    assert f"The hub '{name}' was deleted at " in refused.stderr
    assert "is being purged: 0 rows deleted so far; try again when the purge ends" in (
        refused.stderr
    )
    await run_timer(app)
    refused = admin(azurite, "create", name)
    assert refused.returncode == 1
    assert "is being purged: 60 rows deleted so far" in refused.stderr

    await purge_until_free(app, engine, name, timeout=180)

    assert await rows_of(engine, name) == set()
    assert await rows_of(engine, neighbour.nh.hub.name) == kept_rows
    async with neighbour.nh.client() as http:
        for device in kept:
            response = await http.get(
                f"/installations/{device.installation_id}", headers=neighbour.nh.headers()
            )
            assert response.status_code == 200, device

    created = admin_json(azurite, "create", name)
    assert set(created["connectionStrings"]) == set(stack.nh.hub.policies)
    fresh = await engine.hubs.get_hub(name, fresh=True)
    credentials = hub_credentials(sims.endpoints.to_json(), sims.state_dir)
    reborn = Stack(
        sims, NhCaller(app.url, await replace_hub(azurite, replace(fresh, credentials=credentials)))
    )
    await sims.control.reset_records()
    async with reborn.nh.client() as http:
        for device in devices:
            response = await http.get(
                f"/installations/{device.installation_id}", headers=reborn.nh.headers()
            )
            assert response.status_code == 404, device
        listing = await http.get("/installations", headers=reborn.nh.headers())
        assert listing.status_code == 200, listing.text
        assert listing.json()["installations"] == []
        report = await reborn.finished(http, await reborn.send(http, GREETING, "template", "news"))
    assert report.findtext(f"{NS}State") == "NoTargetFound"
    for sim in ("apns", "fcm"):
        assert await sims.control.counts(sim) == {}
