"""``POST /{hub}/messages/{id}/events``: opens and actions reported by apps, counted once per
installation, notification and kind, shown in the notification's JSON telemetry and in the
hub's list of recent notifications; refused in NH's XML error format when wrong."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import httpx
from sending.conftest import Stack

from .conftest import finished_json

APPLE = '{"aps":{"alert":"Sale"}}'


async def _report(
    stack: Stack, http: httpx.AsyncClient, notification_id: str, body: object, **headers: str
) -> httpx.Response:
    caller = stack.nh.as_listen()
    return await http.post(
        f"/messages/{notification_id}/events", json=body, headers=caller.headers(**headers)
    )


async def test_an_open_is_counted_once_per_installation_and_kind(stack: Stack) -> None:
    async with stack.nh.client() as http:
        phones = [await stack.device("apns") for _ in range(3)]
        for phone in phones:
            await stack.register(http, phone, tags=["sale"])
        notification = await stack.send(http, APPLE, "apple", "sale")
        await finished_json(stack, http, notification)

        for phone in phones[:2]:
            for _ in range(3):  # an app may report again after a restart
                body = {"installationId": phone.installation_id, "kind": "opened"}
                answer = await _report(stack, http, notification, body)
                assert answer.status_code == 204, answer.text
        body = {"installationId": phones[0].installation_id, "kind": "actioned"}
        assert (await _report(stack, http, notification, body)).status_code == 204

        details = await finished_json(stack, http, notification)
        listed = await http.get("/messages", headers=stack.nh.headers())
        opens = await _metered_opens(stack, http, {"opened": 2, "actioned": 1})
    assert details["events"] == {"opened": 2, "actioned": 1}
    assert listed.status_code == 200, listed.text
    [summary] = [n for n in listed.json()["notifications"] if n["notificationId"] == notification]
    assert summary["events"] == {"opened": 2, "actioned": 1}
    assert opens == {"opened": 2, "actioned": 1}  # the hub's metrics count each mark once


async def _metered_opens(
    stack: Stack, http: httpx.AsyncClient, expected: dict[str, int], timeout: float = 60
) -> dict[str, int]:
    """The hub's ``opens`` in its metrics, once they reach ``expected`` or the time is up
    (each process writes its counts every few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await http.get("/metrics", headers=stack.nh.headers())
        assert answer.status_code == 200, answer.text
        opens: Counter[str] = Counter()
        for bucket in answer.json()["buckets"]:
            for entry in bucket.get("opens", []):
                opens[entry["kind"]] += entry["count"]
        if dict(opens) == expected or time.monotonic() > deadline:
            return dict(opens)
        await asyncio.sleep(0.5)


async def test_bad_reports_get_nh_errors_and_count_nothing(stack: Stack) -> None:
    async with stack.nh.client() as http:
        phone = await stack.device("apns")
        await stack.register(http, phone, tags=["sale"])
        notification = await stack.send(http, APPLE, "apple", "sale")
        await finished_json(stack, http, notification)
        mine = phone.installation_id
        cases = [
            (notification, {"installationId": mine, "kind": "liked"}, 400),
            (notification, {"installationId": mine}, 400),
            (notification, {"installationId": "no/slash", "kind": "opened"}, 400),
            (notification, ["opened"], 400),
            (notification, {"installationId": "nobody-here", "kind": "opened"}, 404),
            ("0" * 32, {"installationId": mine, "kind": "opened"}, 404),
        ]
        for notification_id, body, status in cases:
            answer = await _report(stack, http, notification_id, body)
            assert answer.status_code == status, (body, answer.text)
            assert answer.text.startswith("<Error>"), answer.text
        broken = await http.post(
            f"/messages/{notification}/events",
            content=b"{",
            headers=stack.nh.as_listen().headers(),
        )
        unsigned = await http.post(
            f"/messages/{notification}/events", json={"installationId": mine, "kind": "opened"}
        )
        details = await finished_json(stack, http, notification)
    assert broken.status_code == 400
    assert unsigned.status_code == 401
    assert "events" not in details


async def test_a_listen_key_reports_only_for_an_installation_it_may_act_for(stack: Stack) -> None:
    """The installation routes' ownership rule: one with a userId needs that user's token."""
    async with stack.nh.client() as http:
        alices = await stack.device("apns")
        await stack.register(http, alices, userId="alice", tags=["sale"])
        notification = await stack.send(http, APPLE, "apple", "sale")
        await finished_json(stack, http, notification)
        body = {"installationId": alices.installation_id, "kind": "opened"}
        as_device = await _report(stack, http, notification, body)
        as_backend = await http.post(
            f"/messages/{notification}/events", json=body, headers=stack.nh.headers()
        )
        details = await finished_json(stack, http, notification)
    assert as_device.status_code == 401, as_device.text
    assert as_device.text.startswith("<Error>")
    assert as_backend.status_code == 204
    assert details["events"] == {"opened": 1}


async def test_an_app_reads_the_id_from_its_template_and_reports_the_open(stack: Stack) -> None:
    """The README's flow: the template names ``$(heraldNotificationId)``, the device receives
    the id in its payload, and the app reports with it."""
    template = {"body": '{"aps":{"alert":"$(msg)"},"notificationId":"$(heraldNotificationId)"}'}
    async with stack.nh.client() as http:
        phone = await stack.device("apns")
        await stack.register(http, phone, tags=["sale"], templates={"main": template})
        sent = await stack.send(http, json.dumps({"msg": "Sale"}), "template", "sale")
        await finished_json(stack, http, sent)
        [record] = await stack.sims.control.records("apns", phone.sim_key)
        payload = json.loads(record["payload"])
        body = {"installationId": phone.installation_id, "kind": "opened"}
        answer = await _report(stack, http, payload["notificationId"], body)
        details = await finished_json(stack, http, sent)
    assert payload == {"aps": {"alert": "Sale"}, "notificationId": sent}
    assert answer.status_code == 204
    assert details["events"] == {"opened": 1}


async def test_a_send_may_give_the_id_property_itself(stack: Stack) -> None:
    template = {"body": '{"aps":{"alert":"$(heraldNotificationId)"}}'}
    async with stack.nh.client() as http:
        phone = await stack.device("apns")
        await stack.register(http, phone, tags=["sale"], templates={"main": template})
        properties = {"HeraldNotificationId": "mine"}
        sent = await stack.send(http, json.dumps(properties), "template", "sale")
        await finished_json(stack, http, sent)
        [record] = await stack.sims.control.records("apns", phone.sim_key)
    assert json.loads(record["payload"]) == {"aps": {"alert": "mine"}}
