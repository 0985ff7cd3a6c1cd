"""The official NH JS SDK sends through Herald: tag expression, broadcast, direct, batch
direct, test send, schedule and cancel, and per-message telemetry; in the apple, baidu and
xiaomi formats, each counted at its simulator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sending.conftest import Stack, app, stack  # noqa: F401 (the full-stack fixtures)

from support.node import run_node

SCRIPT = Path(__file__).with_name("sending.mjs")


def _ok(results: dict[str, Any], step: str) -> Any:
    result = results[step]
    assert result["ok"], (step, result)
    return result["value"]


# format -> (installation platform, the outcome counts' name, the text a record carries)
FORMATS = {
    "apple": ("apns", "apnsOutcomeCounts", lambda p: json.loads(p)["aps"]["alert"]),
    "baidu": ("baidu", "baiduOutcomeCounts", lambda p: json.loads(p)["title"]),
    "xiaomi": ("xiaomi", "xiaomiOutcomeCounts", lambda p: json.loads(p)["payload"]),
}


@pytest.mark.parametrize("format", list(FORMATS))
async def test_the_js_sdk_sends_and_reads_outcomes(stack: Stack, format: str) -> None:  # noqa: F811
    platform, counts, text_of = FORMATS[format]
    await stack.sims.control.reset()
    tag = f"vip{format}"
    async with stack.nh.client() as http:
        devices = [await stack.device(platform) for _ in range(3)]
        for number, device in enumerate(devices):
            await stack.register(http, device, tags=[tag] if number < 2 else ["basic"])
    scenario = {
        "format": format,
        "handles": [d.channel for d in devices],
        "tag": f"{tag} && !basic",
    }
    policy = stack.nh.hub.policies["DefaultFullSharedAccessSignature"]
    connection = (
        f"Endpoint=sb://unused/;SharedAccessKeyName={policy.name};"
        f"SharedAccessKey={policy.primary_key}"
    )
    arguments = [connection, stack.nh.hub.name, stack.nh.base_url, json.dumps(scenario)]
    results = await run_node(SCRIPT, *arguments)

    tagged = _ok(results, "tagged")
    assert tagged["details"]["state"] == "Completed"
    assert tagged["sent"]["notificationId"] == tagged["details"]["notificationId"]
    assert tagged["details"][counts] == [{"state": "Success", "count": 2}]
    broadcast = _ok(results, "broadcast")
    assert broadcast["details"][counts] == [{"state": "Success", "count": 3}]
    assert _ok(results, "direct")["details"]["state"] == "Completed"
    assert _ok(results, "batch")["details"][counts] == [{"state": "Success", "count": 3}]
    test = _ok(results, "test")
    assert test["successCount"] == 2
    assert {r["pnsHandle"] for r in test["results"]} == {d.channel for d in devices[:2]}
    scheduled = _ok(results, "scheduled")
    assert scheduled["scheduled"]["notificationId"]

    received = Counter()
    for record in await stack.sims.control.records(devices[0].sim):
        received[(record["handle"], text_of(record["payload"]))] += 1
    expected = Counter()
    for number, device in enumerate(devices):
        for text in ("everyone", "batch"):
            expected[(device.sim_key, text)] += 1
        if number < 2:
            expected[(device.sim_key, "tagged")] += 1
            expected[(device.sim_key, "test")] += 1
    expected[(devices[0].sim_key, "direct")] += 1
    assert received == expected  # nothing lost, nothing doubled; "later" was cancelled
