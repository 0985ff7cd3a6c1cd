"""The official NH JS SDK's registration API, unmodified, against the Herald app: every function
of the modular API and every registration description builder, with what storage holds after.

``registrations.mjs`` runs the scenario and prints what every call returned.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from registry.storage_view import index_rows, installation_rows

from shared.engine import Engine
from support.node import loopback_connection_string, run_node
from support.processes import HostProcess
from support.stack import NhCaller, create_hub

SCRIPT = Path(__file__).with_name("registrations.mjs")
TOKEN = "62BCD3484834B7E2DC56733AC5509259230CC1BA82BA1AE7D06E91908A05A8FA"
KINDS = {
    "adm": "Adm",
    "admTemplate": "AdmTemplate",
    "apple": "Apple",
    "appleTemplate": "AppleTemplate",
    "baidu": "Baidu",
    "baiduTemplate": "BaiduTemplate",
    "browser": "Browser",
    "browserTemplate": "BrowserTemplate",
    "gcm": "Gcm",
    "gcmTemplate": "GcmTemplate",
    "fcmv1": "FcmV1",
    "fcmv1Template": "FcmV1Template",
    "windows": "Windows",
    "windowsTemplate": "WindowsTemplate",
    "xiaomi": "Xiaomi",
    "xiaomiTemplate": "XiaomiTemplate",
}


@pytest.fixture(scope="module")
async def hub_caller(app: HostProcess, azurite: str) -> NhCaller:
    hub = await create_hub(azurite, f"sdkreg{uuid.uuid4().hex[:10]}")
    return NhCaller(app.url, hub)


@pytest.fixture(scope="module")
async def sdk(hub_caller: NhCaller) -> dict[str, Any]:
    connection = loopback_connection_string(hub_caller)
    return await run_node(SCRIPT, connection, hub_caller.hub.name, hub_caller.base_url)


def value(sdk: dict[str, Any], step: str) -> Any:
    outcome = sdk[step]
    assert outcome["ok"], f"{step} failed: {outcome['error']}"
    return outcome["value"]


def error(sdk: dict[str, Any], step: str) -> dict[str, Any]:
    outcome = sdk[step]
    assert not outcome["ok"], f"{step} should have failed but returned {outcome['value']}"
    failure: dict[str, Any] = outcome["error"]
    return failure


def test_every_builder_is_stored_and_read_back_as_its_kind(sdk: dict[str, Any]) -> None:
    for name, kind in KINDS.items():
        registration_id = value(sdk, f"id:{name}")
        put = value(sdk, f"put:{name}")
        got = value(sdk, f"get:{name}")
        assert put["kind"] == got["kind"] == kind, name
        assert put["registrationId"] == got["registrationId"] == registration_id, name
        assert got["etag"] == "1", name
        assert sorted(got["tags"]) == sorted(["all", f"kind:{name.replace('emplate', '')}"]), name


def test_each_kind_keeps_its_own_fields(sdk: dict[str, Any]) -> None:
    apple = value(sdk, "get:apple")
    assert apple["deviceToken"] == TOKEN  # upper case, as NH keeps it
    assert apple["pushVariables"] == {"name": "Ann"}
    template = value(sdk, "get:appleTemplate")
    assert template["bodyTemplate"] == '{"aps":{"alert":"$(msg)"}}'
    assert template["templateName"] == "greeting"
    assert template["apnsHeaders"] == {"apns-priority": "10", "apns-push-type": "alert"}
    baidu = value(sdk, "get:baidu")
    assert (baidu["baiduUserId"], baidu["baiduChannelId"]) == ("user-1", "4242")
    browser = value(sdk, "get:browserTemplate")
    assert browser["endpoint"] == "https://fcm.googleapis.com/fcm/send/abc"
    assert browser["bodyTemplate"] == '{"title":"$(msg)"}'
    assert value(sdk, "get:gcm")["gcmRegistrationId"] == "gcm-1"
    assert value(sdk, "get:fcmv1Template")["templateName"] == "news"
    windows = value(sdk, "get:windowsTemplate")
    assert windows["channelUri"] == "https://db5.notify.windows.com/?token=AwYAAAB%2bQ%3d"
    assert windows["wnsHeaders"] == {"X-WNS-Type": "wns/toast"}
    assert value(sdk, "get:xiaomi")["xiaomiRegistrationId"] == "mi-1"
    assert value(sdk, "get:adm")["admRegistrationId"] == "adm-1"
    expiration = apple["expirationTime"]
    assert expiration.startswith("9999-12-31T23:59:59.999")


def test_create_update_and_delete_honour_etags(sdk: dict[str, Any]) -> None:
    created = value(sdk, "create")
    assert created["kind"] == "FcmV1"
    assert created["etag"] == "1"
    updated = value(sdk, "update")
    assert updated["etag"] == "2"
    assert sorted(updated["tags"]) == ["created", "updated"]
    for step in ("updateStale", "deleteStale"):
        assert error(sdk, step)["statusCode"] == 412
    value(sdk, "delete")
    assert error(sdk, "getDeleted")["statusCode"] == 404
    assert error(sdk, "deleteAgain")["statusCode"] == 404


def test_listing_pages_through_every_registration(sdk: dict[str, Any]) -> None:
    everything = value(sdk, "listAll")
    ids = sorted(r["registrationId"] for r in everything)
    assert ids == sorted(value(sdk, f"id:{name}") for name in KINDS)
    pages = value(sdk, "listPages")
    assert all(len(page) <= 5 for page in pages)
    assert sorted(i for page in pages for i in page) == ids
    assert len(pages) >= 4
    assert [r["kind"] for r in value(sdk, "listByTag")] == ["Apple"]
    tag_pages = value(sdk, "listByTagPages")
    assert all(len(page) <= 4 for page in tag_pages)
    assert sorted(i for page in tag_pages for i in page) == ids


def test_listing_by_channel_finds_each_kinds_registrations(sdk: dict[str, Any]) -> None:
    ids = {name: value(sdk, f"id:{name}") for name in KINDS}
    expected = {
        "adm": [ids["adm"]],
        "apple": sorted([ids["apple"], ids["appleTemplate"]]),
        "baidu": [ids["baidu"]],
        "browser": sorted([ids["browser"], ids["browserTemplate"]]),
        "gcm": [ids["gcm"]],
        "fcmv1": [ids["fcmv1Template"]],
        "windows": sorted([ids["windows"], ids["windowsTemplate"]]),
    }
    for name, wanted in expected.items():
        assert sorted(value(sdk, f"byChannel:{name}")) == wanted, name


async def test_storage_holds_one_document_and_its_tag_rows_per_registration(
    sdk: dict[str, Any], hub_caller: NhCaller, engine: Engine
) -> None:
    ids = {value(sdk, f"id:{name}") for name in KINDS}
    rows = await installation_rows(engine, hub_caller.hub.name)
    assert set(rows) == {f"reg:{i}" for i in ids}
    index = await index_rows(engine, hub_caller.hub.name)
    assert {device for tag, device in index if tag == "all"} == set(rows)
    assert len(index) == 2 * len(ids)
