"""Every route family SAS covers takes a bearer token, and its roles decide, as NH's rights do.

The NH SDKs cannot send bearer tokens, so these calls are plain HTTP, as a backend makes them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sending.conftest import NS

from .conftest import RESERVED_TAG, Bearer, installation

ROUTES = [  # (method, path, the right it needs)
    ("PUT", "/installations/phone", "Listen"),
    ("PATCH", "/installations/phone", "Listen"),
    ("GET", "/installations/phone", "Listen"),
    ("DELETE", "/installations/phone", "Listen"),
    ("GET", "/installations", "Manage"),
    ("POST", "/messages", "Send"),
    ("POST", "/messages/$batch", "Send"),
    ("GET", "/messages/0123456789abcdef", "Send"),
    ("POST", "/schedulednotifications", "Send"),
    ("DELETE", "/schedulednotifications/0123456789abcdef", "Send"),
    ("GET", "/feedback", "Manage"),
    ("GET", "/feedbackcontainer", "Manage"),
]
_OTHERS = {"Listen": ("Send",), "Send": ("Listen",), "Manage": ("Listen", "Send")}
_ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


async def _call(bearer: Bearer, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    async with bearer.client() as http:
        return await http.request(method, path, headers=headers, json=installation("phone"))


@pytest.mark.parametrize(("method", "path", "needs"), ROUTES, ids=_ROUTE_IDS)
async def test_roles_without_the_route_s_right_on_this_hub_are_403(
    bearer: Bearer, method: str, path: str, needs: str
) -> None:
    """Every other right on this hub, and the right itself on another hub, is not enough."""
    roles = [bearer.role(right) for right in _OTHERS[needs]] + [f"Herald.{needs}.otherhub"]
    answer = await _call(bearer, method, path, bearer.headers(*roles))
    assert answer.status_code == 403, answer.text
    assert f"{needs} claim is required" in answer.text


@pytest.mark.parametrize(("method", "path", "needs"), ROUTES, ids=_ROUTE_IDS)
async def test_an_expired_token_is_401_on_every_route(
    bearer: Bearer, method: str, path: str, needs: str
) -> None:
    expired = bearer.issuer.token("Herald.Manage", now=time.time() - 7200)
    answer = await _call(bearer, method, path, bearer.headers(token=expired))
    assert answer.status_code == 401
    error = ET.fromstring(answer.content)
    assert (error.findtext("Code"), "expired" in (error.findtext("Detail") or "")) == ("401", True)


async def test_a_device_role_manages_its_own_installation_under_the_tag_policy(
    bearer: Bearer,
) -> None:
    device = bearer.headers(bearer.role("Listen"))
    body = installation("phone", tags=["news"])
    async with bearer.client() as http:
        assert (
            await http.put("/installations/phone", json=body, headers=device)
        ).status_code == 200
        patch = [{"op": "add", "path": "/tags", "value": "sports"}]
        assert (
            await http.patch("/installations/phone", json=patch, headers=device)
        ).status_code == 200
        read = await http.get("/installations/phone", headers=device)
        reserved = await http.put(
            "/installations/phone", json={**body, "tags": [RESERVED_TAG]}, headers=device
        )
        deleted = await http.delete("/installations/phone", headers=device)
        gone = await http.get("/installations/phone", headers=device)
    assert read.status_code == 200
    assert sorted(read.json()["tags"]) == ["news", "sports"]
    assert reserved.status_code == 403  # a Listen-only bearer is a device, as a Listen key is
    assert (deleted.status_code, gone.status_code) == (204, 404)


async def test_manage_lists_the_registry(bearer: Bearer) -> None:
    async with bearer.client() as http:
        for number in range(3):
            body = installation(f"d{number}")
            put = await http.put(
                f"/installations/d{number}", json=body, headers=bearer.headers("Herald.Manage")
            )
            assert put.status_code == 200
        found: list[str] = []
        params: dict[str, str] = {}
        while True:  # page by page, as the continuation token leads
            listed = await http.get(
                "/installations", params=params, headers=bearer.headers(bearer.role("Manage"))
            )
            assert listed.status_code == 200
            found += [i["installationId"] for i in listed.json()["installations"]]
            token = listed.json()["continuationToken"]
            if token is None:
                break
            params = {"continuationToken": token}
    assert sorted(found) == ["d0", "d1", "d2"]


async def test_a_backend_identity_registers_sends_and_reads_telemetry_with_no_key(
    bearer: Bearer,
) -> None:
    """The managed-identity case: app roles for every hub, no connection string anywhere."""
    backend = bearer.headers("Herald.Listen", "Herald.Send")
    device = await bearer.stack.device("apns")
    body = {
        "installationId": device.installation_id,
        "platform": "apns",
        "pushChannel": device.channel,
        "tags": [RESERVED_TAG],
    }
    async with bearer.client() as http:
        put = await http.put(f"/installations/{device.installation_id}", json=body, headers=backend)
        sent = await http.post(
            "/messages",
            content=b'{"aps":{"alert":"hello"}}',
            headers={
                **backend,
                "ServiceBusNotification-Format": "apple",
                "ServiceBusNotification-Tags": RESERVED_TAG,
                "Content-Type": "application/json",
            },
        )
        assert (put.status_code, sent.status_code) == (200, 201), sent.text
        notification = httpx.URL(sent.headers["Location"]).path.split("/")[3]
        state = await _finished(http, notification, backend)
    assert state == "Completed"
    assert await bearer.stack.counts("apns") == {device.sim_key: 1}


async def _finished(http: httpx.AsyncClient, notification: str, headers: dict[str, str]) -> str:
    deadline = time.monotonic() + 120
    while True:
        answer = await http.get(f"/messages/{notification}", headers=headers)
        assert answer.status_code == 200, answer.text
        state = ET.fromstring(answer.content).findtext(f"{NS}State") or ""
        if state in ("Completed", "NoTargetFound", "Abandoned") or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.2)


async def test_send_schedules_and_cancels(bearer: Bearer) -> None:
    sender = bearer.headers(bearer.role("Send"))
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with bearer.client() as http:
        scheduled = await http.post(
            "/schedulednotifications",
            content=b'{"aps":{"alert":"later"}}',
            headers={
                **sender,
                "ServiceBusNotification-Format": "apple",
                "ServiceBusNotification-ScheduleTime": later,
                "Content-Type": "application/json",
            },
        )
        assert scheduled.status_code == 201, scheduled.text
        notification = httpx.URL(scheduled.headers["Location"]).path.split("/")[3]
        cancelled = await http.delete(f"/schedulednotifications/{notification}", headers=sender)
        unknown = await http.delete(f"/schedulednotifications/{uuid.uuid4().hex}", headers=sender)
    assert (cancelled.status_code, unknown.status_code) == (200, 404)


async def test_manage_reads_the_feedback_and_its_container(bearer: Bearer) -> None:
    manager = bearer.headers(bearer.role("Manage"))
    async with bearer.client() as http:
        feedback = await http.get("/feedback", headers=manager)
        container = await http.get("/feedbackcontainer", headers=manager)
        assert container.status_code == 200, container.text
    # The URL is signed with a Manage policy's key: a bearer caller has none of its own.
    async with httpx.AsyncClient() as blob_reader:
        url = httpx.URL(container.text).copy_merge_params({"restype": "container", "comp": "list"})
        listing = await blob_reader.get(url)
    assert feedback.status_code == 200
    assert feedback.json()["feedback"] == []
    assert listing.status_code == 200, listing.text
    assert ET.fromstring(listing.content).tag == "EnumerationResults"
