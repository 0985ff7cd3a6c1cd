"""Dead handles the push services report are applied by one timer run, and sends skip them."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
from registry.storage_view import index_rows
from sending.conftest import NS, Device, Stack, outcome_counts
from sending.test_send_basics import TEMPLATES

from shared.engine import Engine
from support.processes import HostProcess

from .conftest import all_feedback, get_installation, run_timer

PLATFORMS = ["apns", "fcmv1", "wns", "browser", "adm"]
GREETING = json.dumps({"greeting": "Hello", "name": "you"})


def _templates(platform: str) -> dict[str, Any]:
    template: dict[str, Any] = {"body": TEMPLATES[platform]}
    if platform == "wns":
        template["headers"] = {"X-WNS-Type": "wns/toast"}
    return {"main": template}


async def _register(stack: Stack, http: httpx.AsyncClient, platform: str, **fields: Any) -> Device:
    device = await stack.device(platform)
    await stack.register(http, device, templates=_templates(platform), **fields)
    return device


async def _send(stack: Stack, http: httpx.AsyncClient, tags: str | None = None) -> Any:
    notification = await stack.send(http, GREETING, "template", tags)
    return await stack.finished(http, notification)


async def _attempts(stack: Stack, device: Device) -> int:
    """Every attempt the simulator saw for the device: delivered or rejected."""
    delivered = (await stack.sims.control.counts(device.sim)).get(device.sim_key, 0)
    rejected = (await stack.sims.control.rejections(device.sim)).get(device.sim_key, {})
    return delivered + sum(rejected.values())


async def test_dead_handles_are_expired_by_one_run_and_the_next_send_skips_them(
    stack: Stack, app: HostProcess
) -> None:
    async with stack.nh.client() as http:
        dead = [await _register(stack, http, p) for p in PLATFORMS]
        alive = [await _register(stack, http, p) for p in PLATFORMS]
        for device in dead:
            await stack.sims.control.mark_handle(device.sim, device.sim_key, "dead")
        first = await _send(stack, http)
        assert sum(sum(c.values()) for c in outcome_counts(first).values()) == 10

        await run_timer(app)

        for device in dead:
            body = await get_installation(stack, http, device.installation_id)
            assert body["pushChannelExpired"] is True, device
        for device in alive:
            body = await get_installation(stack, http, device.installation_id)
            assert body["pushChannelExpired"] is False, device

        await stack.sims.control.reset_records()
        second = await _send(stack, http)
        for device in dead:
            assert await _attempts(stack, device) == 0, device
        for device in alive:
            assert await _attempts(stack, device) == 1, device
        counts = outcome_counts(second)
        assert sum(sum(c.values()) for c in counts.values()) == len(alive)
        assert sum(c.get("Success", 0) for c in counts.values()) == len(alive)

        entries = await all_feedback(stack, http)
    by_id = {e["installationId"]: e for e in entries}
    assert set(by_id) == {d.installation_id for d in dead}
    for entry in by_id.values():
        assert entry["action"] == "expired"
        assert entry["reason"]  # the push service's own words
        assert entry["outcome"] in ("expired_handle", "invalid_handle")


async def test_a_new_adm_registration_id_replaces_the_stored_handle(
    stack: Stack, app: HostProcess
) -> None:
    async with stack.nh.client() as http:
        device = await _register(stack, http, "adm")
        new_id = "t" + secrets.token_urlsafe(60)
        await stack.sims.control.mark_handle("adm", device.sim_key, "replaced", replacement=new_id)
        await _send(stack, http)
        await run_timer(app)

        body = await get_installation(stack, http, device.installation_id)
        assert body["pushChannel"] == new_id
        assert body["pushChannelExpired"] is False

        await stack.sims.control.reset_records()
        details = await _send(stack, http)
        assert await stack.counts("adm") == {new_id: 1}
        assert outcome_counts(details) == {"Adm": {"Success": 1}}
        (entry,) = await all_feedback(stack, http)
    assert entry["action"] == "replaced"
    assert entry["newHandle"] == new_id
    assert entry["handle"] == device.sim_key


async def test_a_device_that_re_registered_after_the_report_is_left_alone(
    stack: Stack, app: HostProcess
) -> None:
    async with stack.nh.client() as http:
        device = await _register(stack, http, "apns", tags=["news"])
        await stack.sims.control.mark_handle("apns", device.sim_key, "dead")
        await _send(stack, http)
        fresh = await stack.device("apns")
        device.channel, device.sim_key = fresh.channel, fresh.sim_key
        await stack.register(http, device, templates=_templates("apns"), tags=["news"])

        await run_timer(app)

        body = await get_installation(stack, http, device.installation_id)
        assert body["pushChannel"] == fresh.channel
        assert body["pushChannelExpired"] is False
        await stack.sims.control.reset_records()
        await _send(stack, http, "news")
        assert await stack.counts("apns") == {fresh.sim_key: 1}
        (entry,) = await all_feedback(stack, http)
    assert entry["action"] == "unmatched"


async def test_installations_past_their_expiration_time_go_with_their_index_rows(
    stack: Stack, app: HostProcess, engine: Engine
) -> None:
    async with stack.nh.client() as http:
        past, future = "2001-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
        gone = await _register(
            stack, http, "fcmv1", tags=["a", "b"], userId="u1", expirationTime=past
        )
        kept = await _register(stack, http, "fcmv1", tags=["a"], expirationTime=future)
        await run_timer(app)

        assert await get_installation(stack, http, gone.installation_id) is None
        assert await get_installation(stack, http, kept.installation_id) is not None
        rows = await index_rows(engine, stack.nh.hub.name)
        assert {i for _, i in rows} == {kept.installation_id}
        (entry,) = await all_feedback(stack, http)
    assert entry["action"] == "removed"
    assert entry["installationId"] == gone.installation_id
    assert "expirationTime" in entry["reason"]


async def test_a_channel_still_expired_after_the_grace_period_is_deleted(
    stack: Stack, app: HostProcess, engine: Engine
) -> None:
    async with stack.nh.client() as http:
        device = await _register(stack, http, "wns", tags=["x"])
        await stack.sims.control.mark_handle("wns", device.sim_key, "dead")
        await _send(stack, http)
        await run_timer(app)
        assert (await get_installation(stack, http, device.installation_id))["pushChannelExpired"]

        deadline = time.monotonic() + 60
        while await get_installation(stack, http, device.installation_id) is not None:
            assert time.monotonic() < deadline, "the expired channel was never deleted"
            await run_timer(app)
        assert await index_rows(engine, stack.nh.hub.name) == set()
        entries = await all_feedback(stack, http)
    assert sorted(e["action"] for e in entries) == ["deleted", "expired"]


async def test_the_hygiene_counts_come_with_the_feedback(stack: Stack, app: HostProcess) -> None:
    async with stack.nh.client() as http:
        device = await _register(stack, http, "apns")
        await stack.sims.control.mark_handle("apns", device.sim_key, "dead")
        details = await _send(stack, http)
        assert details.findtext(f"{NS}State") == "Completed"
        await run_timer(app)
        await run_timer(app)  # nothing left to do: the counts stay
        response = await http.get("/feedback", headers=stack.nh.headers())
    hygiene = response.json()["hygiene"]
    assert hygiene["totals"] == {"expired": 1}
    assert hygiene["lastRunAt"] is not None
