"""Template limits through the host: a Listen-key device cannot register an over-limit template,
and the largest one it can register fails alone, as too large, while the send reaches the rest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from shared.model.templates import TEMPLATE_LIMITS

from .conftest import Device, Stack

LIMITS = TEMPLATE_LIMITS
ORDINARY = {
    "apns": '{"aps":{"alert":"$(msg)"}}',
    "fcmv1": '{"message":{"notification":{"title":"$(msg)"}}}',
}
# The largest worst case the limits allow: the installation's expressions in two templates,
# every one a `$(a)`.
WORST_CASE = {
    f"worst{n}": {"body": '{"aps":{"alert":"' + "$(a)" * LIMITS.expressions + '"}}'}
    for n in range(LIMITS.installation_expressions // LIMITS.expressions)
}


async def _register_as_device(
    http: Any, stack: Stack, device: Device, **fields: Any
) -> tuple[int, str]:
    listen = stack.nh.as_listen()
    body = {
        "installationId": device.installation_id,
        "platform": device.platform,
        "pushChannel": device.channel,
        **fields,
    }
    response = await http.put(
        f"/installations/{device.installation_id}", json=body, headers=listen.headers()
    )
    return int(response.status_code), response.text


async def test_a_listen_key_cannot_register_a_template_over_the_limits(stack: Stack) -> None:
    too_long = '{"aps":{"alert":"' + "x" * LIMITS.body + '"}}'
    async with stack.nh.client() as http:
        device = await stack.device("apns")
        status, text = await _register_as_device(
            http, stack, device, templates={"t": {"body": too_long}}
        )
        extra = {"extra": {"body": '{"aps":{"alert":"$(a)"}}'}}
        total_status, total_text = await _register_as_device(
            http, stack, device, templates={**WORST_CASE, **extra}
        )
        worst_status, _ = await _register_as_device(http, stack, device, templates=WORST_CASE)

    assert status == 400
    detail = ET.fromstring(text).findtext("Detail") or ""
    assert "Installation validation failed" in detail
    assert f"a template body may have at most {LIMITS.body}" in detail
    assert total_status == 400
    assert f"at most {LIMITS.installation_expressions}" in (
        ET.fromstring(total_text).findtext("Detail") or ""
    )
    assert worst_status == 200


async def test_a_worst_case_template_fails_as_too_large_and_the_send_reaches_the_rest(
    stack: Stack,
) -> None:
    async with stack.nh.client() as http:
        ordinary = []
        for platform, body in ORDINARY.items():
            for _ in range(2):
                device = await stack.device(platform)
                status, text = await _register_as_device(
                    http, stack, device, templates={"main": {"body": body}}
                )
                assert status == 200, text
                ordinary.append(device)
        worst = await stack.device("apns")
        status, text = await _register_as_device(http, stack, worst, templates=WORST_CASE)
        assert status == 200, text
        # The largest property the send takes: the body is at most 64 KB.
        properties = {"msg": "hello", "a": "x" * 64_000}
        notification = await stack.send(http, json.dumps(properties), "template")
        await stack.finished(http, notification)
        response = await http.get(
            f"/messages/{notification}",
            headers=stack.nh.headers(Accept="application/json"),
        )
    telemetry = response.json()

    for device in ordinary:
        assert await stack.counts(device.platform) == {
            d.sim_key: 1 for d in ordinary if d.platform == device.platform
        }
    failures = telemetry["failures"]["items"]
    assert sorted(f["template"] for f in failures) == sorted(WORST_CASE)
    for failure in failures:
        assert failure["installationId"] == worst.installation_id
        assert failure["outcome"] == "InvalidNotificationSize"
        assert "limit of 4096 bytes" in failure["reason"]
    assert {c["state"]: c["count"] for c in telemetry["apnsOutcomeCounts"]} == {
        "Success": 2,
        "InvalidNotificationSize": 2,
    }
