"""``GET /{hub}/installations/{id}/trace`` (Manage): for each installation, what became of the
hub's recent notifications, judged from stored data; each reason a real send can produce."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sending.conftest import Device, Stack

from shared.model.installation import parse_installation
from shared.store.seeding import seed_installations
from support.stack import engine_for

from .conftest import finished_json

APPLE = '{"aps":{"alert":"Hello"}}'
TEMPLATE = {"body": '{"aps":{"alert":"$(msg)"}}'}


async def _trace(
    stack: Stack, http: httpx.AsyncClient, device: Device, notification_id: str | None = None
) -> Any:
    params = {"notificationId": notification_id} if notification_id else {}
    answer = await http.get(
        f"/installations/{device.installation_id}/trace", params=params, headers=stack.nh.headers()
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _verdict(stack: Stack, http: httpx.AsyncClient, device: Device, sent: str) -> Any:
    [entry] = (await _trace(stack, http, device, sent))["notifications"]
    assert entry["notificationId"] == sent
    return entry


async def _seed_expired_channel(azurite: str, stack: Stack, device: Device) -> None:
    """An installation whose push service called its handle dead (the feedback processor's
    mark), written straight to storage as the processor writes it."""
    hub = stack.nh.hub
    body = {
        "installationId": device.installation_id,
        "platform": "apns",
        "pushChannel": device.channel,
        "tags": ["news"],
        "pushChannelExpired": True,
        "lastUpdate": "2026-01-01T00:00:00Z",
    }
    engine = engine_for(azurite)
    try:
        installation = parse_installation(body, max_tags=hub.max_tags)
        await seed_installations(engine.tables, hub.name, hub.shard_count, [installation])
    finally:
        await engine.aclose()


async def test_each_installation_is_told_why(stack: Stack, azurite: str) -> None:
    async with stack.nh.client() as http:
        reached = await stack.device("apns")
        await stack.register(http, reached, tags=["news"])
        sports = await stack.device("apns")
        await stack.register(http, sports, tags=["sports"])
        android = await stack.device("fcmv1")
        await stack.register(http, android, tags=["news"])
        gone = await stack.device("apns")
        await stack.register(http, gone, tags=["news"])
        await stack.sims.control.mark_handle("apns", gone.sim_key)
        lapsed = await stack.device("apns")
        await stack.register(http, lapsed, tags=["news"], expirationTime="2020-01-01T00:00:00Z")
        templated = await stack.device("apns")
        await stack.register(http, templated, tags=["news"], templates={"main": TEMPLATE})
        dead_channel = await stack.device("apns")
        await _seed_expired_channel(azurite, stack, dead_channel)

        native = await stack.send(http, APPLE, "apple", "news")
        await finished_json(stack, http, native)
        template = await stack.send(http, json.dumps({"msg": "Hi"}), "template", "news")
        await finished_json(stack, http, template)
        direct = await http.post(
            "/messages/",
            params={"direct": ""},
            content=APPLE,
            headers=stack.nh.headers(
                **{
                    "ServiceBusNotification-Format": "apple",
                    "ServiceBusNotification-DeviceHandle": templated.channel,
                    "Content-Type": "application/json",
                }
            ),
        )
        assert direct.status_code == 201, direct.text
        direct_id = httpx.URL(direct.headers["Location"]).path.split("/")[3]
        await finished_json(stack, http, direct_id)

        delivered = await _verdict(stack, http, reached, native)
        assert delivered["verdict"] == "delivered"
        assert delivered["targeted"] is True
        assert delivered["reasons"] == delivered["failures"] == []
        assert (await _verdict(stack, http, sports, native))["reasons"] == ["noMatchingTag"]
        assert (await _verdict(stack, http, android, native))["reasons"] == ["platformMismatch"]
        failed = await _verdict(stack, http, gone, native)
        assert failed["verdict"] == "failed"
        assert [f["outcome"] for f in failed["failures"]] == ["ExpiredChannel"]
        assert failed["failures"][0]["pnsReason"]  # the push service's own words
        expired = await _verdict(stack, http, lapsed, native)
        assert expired["reasons"] == ["installationExpired"]
        channel = await _verdict(stack, http, dead_channel, native)
        assert channel["reasons"] == ["channelExpired"]
        assert (await _verdict(stack, http, reached, template))["reasons"] == ["noMatchingTemplate"]
        chosen = await _verdict(stack, http, templated, template)
        assert (chosen["verdict"], chosen["templates"]) == ("delivered", ["main"])
        assert (await _verdict(stack, http, reached, direct_id))["reasons"] == ["notAddressed"]
        assert (await _verdict(stack, http, templated, direct_id))["verdict"] == "delivered"

        recent = await _trace(stack, http, reached)
    assert [(n["notificationId"], n["verdict"]) for n in recent["notifications"]] == [
        (direct_id, "notTargeted"),
        (template, "notTargeted"),
        (native, "delivered"),
    ]
    assert recent["continuationToken"] is None
    assert recent["platform"] == "apns"


async def test_the_trace_needs_manage_and_a_known_installation(stack: Stack) -> None:
    async with stack.nh.client() as http:
        phone = await stack.device("apns")
        await stack.register(http, phone, tags=["news"])
        path = f"/installations/{phone.installation_id}/trace"
        as_device = await http.get(path, headers=stack.nh.as_listen().headers())
        unknown = await http.get("/installations/nobody/trace", headers=stack.nh.headers())
        no_notification = await http.get(
            path, params={"notificationId": "0" * 32}, headers=stack.nh.headers()
        )
        bad_id = await http.get("/installations/a%23b/trace", headers=stack.nh.headers())
    assert as_device.status_code == 403
    assert unknown.status_code == 404
    assert no_notification.status_code == 404
    assert bad_id.status_code == 400
    for answer in (as_device, unknown, no_notification, bad_id):
        assert answer.text.startswith("<Error>"), answer.text
