"""The official NH JS SDK (@azure/notification-hubs, unmodified) against the Herald app.

``installations.mjs`` runs one scenario through the SDK and prints what every call returned;
these tests assert on that output and, where it matters, on what our own API answers after it.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from support.node import loopback_connection_string, run_node
from support.processes import HostProcess
from support.stack import NhCaller, create_hub, without_timestamps

SCRIPT = Path(__file__).with_name("installations.mjs")
NODE_TIMEOUT = 120.0

P256DH = "BO" + "A" * 85  # as in the script: 65 bytes, 0x04 first
AUTH = "AAECAwQFBgcICQoLDA0ODw"
BROWSER_CHANNEL = {
    "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
    "p256dh": P256DH,
    "auth": AUTH,
}


@pytest.fixture(scope="module")
async def hub_caller(app: HostProcess, azurite: str) -> NhCaller:
    hub = await create_hub(azurite, f"sdk{uuid.uuid4().hex[:12]}")
    return NhCaller(app.url, hub)


@pytest.fixture(scope="module")
async def sdk(hub_caller: NhCaller) -> dict[str, Any]:
    """The scenario's output: one entry per SDK call, ``{ok, value}`` or ``{ok, error}``."""
    connection = loopback_connection_string(hub_caller)
    arguments = (connection, hub_caller.hub.name, hub_caller.base_url)
    return await run_node(SCRIPT, *arguments, timeout=NODE_TIMEOUT)


def value(sdk: dict[str, Any], step: str) -> Any:
    outcome = sdk[step]
    assert outcome["ok"], f"{step} failed: {outcome['error']}"
    return outcome["value"]


def error(sdk: dict[str, Any], step: str) -> dict[str, Any]:
    outcome = sdk[step]
    assert not outcome["ok"], f"{step} should have failed but returned {outcome['value']}"
    failure: dict[str, Any] = outcome["error"]
    return failure


async def our_get(caller: NhCaller, installation_id: str) -> tuple[int, bytes]:
    async with caller.client() as http:
        response = await http.get(f"/installations/{installation_id}", headers=caller.headers())
    return response.status_code, response.content


def test_every_write_the_sdk_makes_succeeds(sdk: dict[str, Any]) -> None:
    for step in ("putBrowser", "patchBrowser", "putFcm", "patchFcm", "deleteFcm"):
        value(sdk, step)
    value(sdk, "deleteFcmAgain")  # NH answers 204 for a missing installation too


def test_the_sdk_reads_back_a_browser_installation(sdk: dict[str, Any]) -> None:
    got = value(sdk, "getBrowser")
    assert without_timestamps(got) == {
        "installationId": "sdk-browser-1",
        "pushChannel": BROWSER_CHANNEL,
        "pushChannelExpired": False,
        "platform": "browser",
        "expirationTime": "9999-12-31T23:59:59.9999999Z",
        "tags": ["city:oslo", "likes_hockey"],
        "pushVariables": {"name": "Alice"},
        "templates": {
            "greeting": {"body": '{"title":"Hi $(name)"}', "tags": ["greeting", "promo"]}
        },
        "userId": "alice@example.com",
    }


def test_the_modular_api_reads_back_an_fcmv1_installation(sdk: dict[str, Any]) -> None:
    got = value(sdk, "getFcm")
    assert got["platform"] == "fcmv1"
    assert got["pushChannel"] == "fcm-token-0123456789"
    assert got["userId"] == "bob"
    assert got["tags"] == ["city:bergen", "likes_football"]
    template = got["templates"]["Template Name"]
    assert template["body"] == '{"message":{"notification":{"title":"$(msg)"}}}'
    assert template["tags"] == ["Template Name", "news"]  # the name is a tag, as NH does it


async def test_update_installation_adds_and_removes_tags(
    sdk: dict[str, Any], hub_caller: NhCaller
) -> None:
    patched = value(sdk, "getBrowserPatched")
    status, body = await our_get(hub_caller, "sdk-browser-1")
    ours = json.loads(body)
    assert status == 200
    assert patched["tags"] == ours["tags"] == ["city:oslo", "likes_tennis"]
    assert patched["userId"] == ours["userId"] == "alice2"
    assert patched["pushChannel"] == ours["pushChannel"] == BROWSER_CHANNEL
    assert patched["templates"]["welcome"] == {
        "body": '{"title":"Welcome"}',
        "tags": ["new_user", "welcome"],
    }
    assert without_timestamps(patched) == without_timestamps(ours)
    assert value(sdk, "getFcmPatched")["tags"] == ["city:bergen", "likes_football", "vip"]


async def test_after_delete_the_sdk_gets_a_404_with_nh_detail(
    sdk: dict[str, Any], hub_caller: NhCaller
) -> None:
    for step in ("getFcmDeleted", "patchFcmDeleted"):
        failure = error(sdk, step)
        assert failure["name"] == "RestError"
        assert failure["statusCode"] == 404
        # The SDK surfaces <Detail> from NH's XML error body.
        assert failure["message"].startswith("operations failed with: Installation not found.")
        assert ".TrackingId:" in failure["message"]
        assert ",TimeStamp:" in failure["message"]
    status, _ = await our_get(hub_caller, "sdk-fcm-1")
    assert status == 404


async def test_a_wrong_key_fails_with_401_and_writes_nothing(
    sdk: dict[str, Any], hub_caller: NhCaller
) -> None:
    for step in ("wrongKeyGet", "wrongKeyPut"):
        failure = error(sdk, step)
        assert failure["statusCode"] == 401
        assert "signature" in failure["message"].lower()
    # The rejected PUT carried the original tags; the stored installation keeps the patched ones.
    status, body = await our_get(hub_caller, "sdk-browser-1")
    assert status == 200
    assert json.loads(body)["tags"] == ["city:oslo", "likes_tennis"]


def test_writes_answer_with_nh_tracking_ids(sdk: dict[str, Any]) -> None:
    for step in ("putBrowser", "patchBrowser", "deleteFcm"):
        answer = value(sdk, step)
        assert answer.get("trackingId"), step
        assert answer.get("correlationId"), step
