"""What only Baidu and Xiaomi do, sender against simulator over real sockets: Baidu's signature
and timestamp window, Xiaomi's batches of regids and its partial answers."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from emulator.pns import RunningSimulators
from shared.pns import xiaomi
from shared.pns.base import OutcomeKind, Platform, PushMessage
from shared.pns.registry import build_sender

from .conftest import Contract


@pytest.fixture
async def baidu(sims: RunningSimulators) -> Contract:
    await sims.control.reset()
    return Contract(sims, Platform.BAIDU)


@pytest.fixture
async def mi(sims: RunningSimulators) -> Contract:
    await sims.control.reset()
    return Contract(sims, Platform.XIAOMI)


async def test_baidu_receives_the_msg_and_its_type(baidu: Contract) -> None:
    notify, message = await baidu.device(), await baidu.device()
    sender = baidu.sender()
    try:
        outcomes = await sender.send(
            [
                baidu.message(notify),
                PushMessage(message.handle, b'{"k":"v"}', {"x-baidu-message-type": "0"}),
            ]
        )
    finally:
        await sender.aclose()
    assert [o.kind for o in outcomes] == [OutcomeKind.DELIVERED] * 2
    (record,) = await baidu.sims.control.records("baidu", notify.sim_key)
    assert json.loads(record["payload"]) == {"title": "hello", "description": "from Herald"}
    assert record["headers"]["x-sim-msg-type"] == "1"
    (record,) = await baidu.sims.control.records("baidu", message.sim_key)
    assert record["headers"]["x-sim-msg-type"] == "0"


async def test_baidu_refuses_a_wrong_secret_key_as_bad_credentials(baidu: Contract) -> None:
    device = await baidu.device()
    sender = baidu.sender(BaiduSecretKey="not-the-secret")
    try:
        (outcome,) = await sender.send([baidu.message(device)])
    finally:
        await sender.aclose()
    assert (outcome.kind, outcome.reason) == (
        OutcomeKind.CREDENTIALS_REJECTED,
        "30603 Authentication Failed",
    )
    assert await baidu.sims.control.counts("baidu") == {}


async def test_baidu_refuses_a_stale_signature_and_a_resend_is_signed_afresh(
    baidu: Contract,
) -> None:
    device = await baidu.device()
    an_hour_ago = replace(baidu.options(), clock=lambda: time.time() - 3600)
    stale = build_sender(Platform.BAIDU, baidu.credentials(), an_hour_ago)
    fresh = baidu.sender()
    try:
        (late,) = await stale.send([baidu.message(device)])
        (again,) = await fresh.send([baidu.message(device)])
    finally:
        await stale.aclose()
        await fresh.aclose()
    assert (late.kind, late.reason) == (OutcomeKind.TRANSIENT, "30606 Request Time Expires Timeout")
    assert again.kind is OutcomeKind.DELIVERED


async def test_baidu_another_apps_channel_is_a_dead_handle(baidu: Contract) -> None:
    device = await baidu.device()
    await baidu.sims.control.mark_handle("baidu", device.sim_key, "mismatch")
    sender = baidu.sender()
    try:
        (outcome,) = await sender.send([baidu.message(device)])
    finally:
        await sender.aclose()
    assert outcome.dead_handle
    assert outcome.reason == "30608 Bind Relation Not Found"


async def test_xiaomi_sends_one_request_per_thousand_regids(mi: Contract) -> None:
    devices = [await mi.device() for _ in range(1_001)]
    sender = mi.sender()
    try:
        outcomes = await sender.send([mi.message(d) for d in devices])
    finally:
        await sender.aclose()
    assert {o.kind for o in outcomes} == {OutcomeKind.DELIVERED}
    records = await mi.sims.control.records("xiaomi")
    assert len(records) == 1_001
    by_request = sorted(
        sum(r["message_id"] == m for r in records) for m in {r["message_id"] for r in records}
    )
    assert by_request == [1, 1_000]
    form = json.loads(records[0]["payload"])
    assert form == {"description": "from Herald", "payload": "p", "title": "hello"}
    assert records[0]["headers"]["content-type"].startswith("application/x-www-form-urlencoded")


async def test_xiaomi_bad_regids_are_dead_and_the_rest_delivered(mi: Contract) -> None:
    good, bad = await mi.device(), await mi.device()
    await mi.sims.control.mark_handle("xiaomi", bad.sim_key, "dead")
    other = PushMessage(good.handle, b'{"pass_through":1,"payload":{"k":"v"}}')
    sender = mi.sender()
    try:
        outcomes = await sender.send([mi.message(good), mi.message(bad), other])
    finally:
        await sender.aclose()
    assert [o.kind for o in outcomes] == [
        OutcomeKind.DELIVERED,
        OutcomeKind.INVALID_HANDLE,
        OutcomeKind.DELIVERED,
    ]
    payloads = [json.loads(r["payload"]) for r in await mi.sims.control.records("xiaomi")]
    assert {"pass_through": "1", "payload": '{"k":"v"}'} in payloads


async def test_xiaomi_a_request_with_no_valid_regid_makes_each_dead(mi: Contract) -> None:
    devices = [await mi.device() for _ in range(3)]
    for device in devices:
        await mi.sims.control.mark_handle("xiaomi", device.sim_key, "dead")
    sender = mi.sender()
    try:
        outcomes = await sender.send([mi.message(d) for d in devices])
    finally:
        await sender.aclose()
    assert {(o.kind, o.reason) for o in outcomes} == {
        (OutcomeKind.INVALID_HANDLE, "20301 No valid targets!")
    }


async def test_xiaomi_a_wrong_app_secret_is_bad_credentials(mi: Contract) -> None:
    device = await mi.device()
    sender = mi.sender(AppSecret="wrong")
    try:
        (outcome,) = await sender.send([mi.message(device)])
    finally:
        await sender.aclose()
    assert outcome.kind is OutcomeKind.CREDENTIALS_REJECTED
    assert outcome.reason.startswith("21301")


async def test_xiaomi_a_body_that_is_no_mi_push_message_is_rejected_unsent(mi: Contract) -> None:
    device = await mi.device()
    sender = mi.sender()
    try:
        (outcome,) = await sender.send([PushMessage(device.handle, b'{"title":"no description"}')])
    finally:
        await sender.aclose()
    assert outcome.kind is OutcomeKind.PAYLOAD_REJECTED
    assert "description" in outcome.reason
    assert await mi.sims.control.rejections("xiaomi") == {}


def test_xiaomi_regions_name_the_regional_hosts() -> None:
    creds = xiaomi.XiaomiCredentials.from_dict({"AppSecret": "s", "Endpoint": "Europe"})
    assert creds.endpoint == "https://fr-api.xmpush.global.xiaomi.com"
