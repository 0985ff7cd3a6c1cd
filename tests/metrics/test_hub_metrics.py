"""Hub metrics through the whole local stack: registrations, a template send to three push
services with faults injected, the timer pruning a dead handle; then ``GET /{hub}/metrics``
and the Prometheus text of ``GET /metrics`` count exactly what the simulators recorded."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from feedback.conftest import run_timer
from prometheus_client.parser import text_string_to_metric_families
from sending.conftest import SIM_NAMES, Device, Stack, new_stack
from sending.test_send_basics import TEMPLATES

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

PROMETHEUS_KEY = secrets.token_urlsafe(32)
PLATFORMS = {"apns": 4, "fcmv1": 3, "wns": 2}


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    env = app_env(
        azurite, **app_settings(sims.endpoints.to_json()), HERALD_PROMETHEUS_KEY=PROMETHEUS_KEY
    )
    with running_host(REPO, env) as host:
        yield host


def _templates(platform: str) -> dict[str, Any]:
    template: dict[str, Any] = {"body": TEMPLATES[platform]}
    if platform == "wns":
        template["headers"] = {"X-WNS-Type": "wns/toast"}
    return {"main": template}


async def _simulated(stack: Stack) -> Counter[tuple[str, str]]:
    """What the simulators saw, as (platform, outcome) counts in the metrics' terms."""
    outcomes = {"fault:throttle": "throttled", "fault:error": "transient"}
    seen: Counter[tuple[str, str]] = Counter()
    for platform in PLATFORMS:
        seen[(platform, "delivered")] += sum((await stack.counts(platform)).values())
        rejected = await stack.sims.control.rejections(SIM_NAMES[platform])
        for reasons in rejected.values():
            for reason, number in reasons.items():
                seen[(platform, outcomes.get(reason, "expired_handle"))] += number
    return seen


def _summed(buckets: list[dict[str, Any]], name: str, *labels: str) -> Counter[tuple[str, ...]]:
    total: Counter[tuple[str, ...]] = Counter()
    for bucket in buckets:
        for entry in bucket[name]:
            total[tuple(str(entry[label]) for label in labels)] += entry["count"]
    return total


async def _send_with_faults(stack: Stack, http: httpx.AsyncClient) -> list[Device]:
    devices = []
    for platform, count in PLATFORMS.items():
        for _ in range(count):
            device = await stack.device(platform)
            await stack.register(
                http,
                device,
                tags=["news"],
                pushVariables={"name": "you"},
                templates=_templates(platform),
            )
            devices.append(device)
    apns, *_ = devices
    await stack.register(http, apns, tags=["news", "sports"], templates=_templates("apns"))
    assert (
        await http.get(f"/installations/{apns.installation_id}", headers=stack.nh.headers())
    ).status_code == 200
    assert (await http.get("/installations/nobody", headers=stack.nh.headers())).status_code == 404
    gone = devices.pop()  # a WNS device
    await http.delete(f"/installations/{gone.installation_id}", headers=stack.nh.headers())
    control = stack.sims.control
    await control.mark_handle("apns", apns.sim_key, "dead")
    await control.set_faults("fcm", first_n=1, first_n_kind="throttle", retry_after=1)
    await control.set_faults("wns", first_n=1, first_n_kind="error")
    body = json.dumps({"greeting": "Hello", "name": "you"})
    try:
        details = await stack.finished(http, await stack.send(http, body, "template", "news"))
    finally:
        await control.clear_faults("fcm")
        await control.clear_faults("wns")
    assert details.findtext(".//{*}State") == "Completed"
    return devices


async def test_the_metrics_count_what_the_simulators_recorded(
    app: HostProcess, azurite: str, sims: RunningSimulators
) -> None:
    stack = await new_stack(app, azurite, sims, "metrics")
    async with stack.nh.client() as http:
        await _send_with_faults(stack, http)
        await run_timer(app)  # applies the dead handle's report: one handle pruned
        response = await http.get("/metrics", headers=stack.nh.headers())
        daily = await http.get("/metrics", params={"interval": "P1D"}, headers=stack.nh.headers())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert (answer["hub"], answer["interval"]) == (stack.nh.hub.name, "PT1M")
    buckets = answer["buckets"]

    simulated = await _simulated(stack)
    faults = [("fcmv1", "throttled"), ("wns", "transient"), ("apns", "expired_handle")]
    assert [simulated[fault] for fault in faults] == [3, 1, 1]
    deliveries = _summed(buckets, "deliveries", "platform", "outcome")
    assert deliveries == simulated, json.dumps(answer)
    assert _summed(buckets, "notifications", "kind", "format") == {("tag", "template"): 1}
    assert _summed(buckets, "registry", "operation") == {
        ("create",): 9,
        ("update",): 1,
        ("read",): 2,  # one found, one not
        ("delete",): 1,
    }
    assert _summed(buckets, "pruned", "platform") == {("apns",): 1}
    assert _summed(buckets, "apiErrors", "status") == {("404",): 1}
    latency = {entry["platform"]: entry for b in buckets for entry in b["pnsLatency"]}
    assert set(latency) == set(PLATFORMS)
    assert all(0 <= e["meanMs"] <= e["maxMs"] for e in latency.values())
    sizes = {entry["platform"]: entry["count"] for entry in answer["registrySize"]}
    assert sizes == {"apns": 4, "fcmv1": 3, "wns": 1}

    assert daily.status_code == 200
    assert _summed(daily.json()["buckets"], "deliveries", "platform", "outcome") == simulated

    async with httpx.AsyncClient(base_url=app.url) as plain:
        refused = await plain.get("/metrics")
        scraped = await plain.get("/metrics", headers={"Authorization": f"Bearer {PROMETHEUS_KEY}"})
    assert refused.status_code == 401
    assert ET.fromstring(refused.content).findtext("Code") == "401"
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    hub = stack.nh.hub.name
    scraped_counts: Counter[tuple[str, str]] = Counter()
    sizes_scraped = {}
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            if sample.labels.get("hub") != hub:
                continue
            if sample.name == "herald_deliveries_total":
                key = (sample.labels["platform"], sample.labels["outcome"])
                scraped_counts[key] += int(sample.value)
            if sample.name == "herald_registry_size":
                sizes_scraped[sample.labels["platform"]] = int(sample.value)
    assert scraped_counts == simulated
    assert sizes_scraped == sizes


async def test_metrics_need_the_manage_right_and_a_sane_window_and_count_refusals(
    app: HostProcess, azurite: str, sims: RunningSimulators
) -> None:
    stack = await new_stack(app, azurite, sims, "metrics")
    listen = stack.nh.as_listen()
    async with stack.nh.client() as http:
        forbidden = await http.get("/metrics", headers=listen.headers())
        unsigned = await http.get("/metrics")
        bad = await http.get("/metrics", params={"interval": "PT5M"}, headers=stack.nh.headers())
        long = await http.get(
            "/metrics", params={"from": "2026-01-01T00:00:00Z"}, headers=stack.nh.headers()
        )
        empty = await http.get("/metrics", headers=stack.nh.headers())
    assert forbidden.status_code == 403
    assert unsigned.status_code == 401
    for refused in (bad, long):
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/xml")
    assert "PT1M, PT1H, P1D" in bad.text
    assert "at most 1,440" in long.text
    assert empty.status_code == 200
    answer = empty.json()
    assert answer["registrySize"] == []
    # The refusals are all the hub did, and each counts.
    assert _summed(answer["buckets"], "apiErrors", "status") == {
        ("400",): 2,
        ("401",): 1,
        ("403",): 1,
    }
    assert {key for bucket in answer["buckets"] for key, value in bucket.items() if value} == {
        "start",
        "apiErrors",
    }
