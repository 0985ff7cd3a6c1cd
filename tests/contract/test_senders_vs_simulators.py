"""One contract, every sender, against its simulator over real sockets: what the device
received and what the sender reported must agree, outcome by outcome."""

from __future__ import annotations

import asyncio

from shared.pns.base import OutcomeKind, Platform

from .conftest import PAYLOADS, Contract

_LONG = "a" * 9000
OVERSIZE = {
    Platform.APNS: f'{{"aps":{{"alert":"{_LONG}"}}}}'.encode(),
    Platform.FCMV1: f'{{"message":{{"data":{{"x":"{_LONG}"}}}}}}'.encode(),
    Platform.WNS: f"<toast><visual><binding><text>{_LONG}</text></binding></visual>"
    "</toast>".encode(),
    Platform.BROWSER: _LONG.encode(),
    Platform.ADM: f'{{"data":{{"x":"{_LONG}"}}}}'.encode(),
    Platform.BAIDU: f'{{"title":"t","description":"{_LONG}"}}'.encode(),
    Platform.XIAOMI: f'{{"title":"t","description":"d","payload":"{_LONG}"}}'.encode(),
}
# How each PNS words a handle marked dead: Xiaomi lists it among the invalid bad_regids.
DEAD = {Platform.XIAOMI: OutcomeKind.INVALID_HANDLE}
# APNs, Baidu and Xiaomi document no Retry-After on their throttling answers.
NO_RETRY_AFTER = frozenset({Platform.APNS, Platform.BAIDU, Platform.XIAOMI})


async def test_each_device_receives_its_message_exactly_once(contract: Contract) -> None:
    devices = [await contract.device() for _ in range(20)]
    sender = contract.sender()
    try:
        outcomes = await sender.send([contract.message(d) for d in devices])
    finally:
        await sender.aclose()
    assert [o.kind for o in outcomes] == [OutcomeKind.DELIVERED] * 20
    assert [o.handle for o in outcomes] == [d.handle for d in devices]
    counts = await contract.sims.control.counts(contract.sim)
    assert counts == {d.sim_key: 1 for d in devices}
    records = await contract.sims.control.records(contract.sim, devices[0].sim_key)
    if contract.platform is Platform.BROWSER:  # the simulator decrypted what we encrypted
        assert records[0]["payload"] == PAYLOADS[Platform.BROWSER][0].decode()


async def test_a_dead_handle_is_reported_dead(contract: Contract) -> None:
    live, dead = await contract.device(), await contract.device()
    await contract.sims.control.mark_handle(contract.sim, dead.sim_key, "dead")
    sender = contract.sender()
    try:
        outcomes = await sender.send([contract.message(live), contract.message(dead)])
    finally:
        await sender.aclose()
    dead_kind = DEAD.get(contract.platform, OutcomeKind.EXPIRED_HANDLE)
    assert [o.kind for o in outcomes] == [OutcomeKind.DELIVERED, dead_kind]
    assert outcomes[1].reason
    assert await contract.sims.control.counts(contract.sim) == {live.sim_key: 1}


async def test_throttling_carries_retry_after(contract: Contract) -> None:
    device = await contract.device()
    await contract.sims.control.set_faults(contract.sim, throttle_rate=1.0, retry_after=7, seed=1)
    sender = contract.sender()
    try:
        (outcome,) = await sender.send([contract.message(device)])
    finally:
        await sender.aclose()
    assert outcome.kind is OutcomeKind.THROTTLED
    # The others' Retry-After is honoured to the second.
    assert outcome.retry_after == (None if contract.platform in NO_RETRY_AFTER else 7)
    assert await contract.sims.control.counts(contract.sim) == {}


async def test_server_errors_are_transient(contract: Contract) -> None:
    device = await contract.device()
    await contract.sims.control.set_faults(contract.sim, error_rate=1.0, error_status=503, seed=1)
    sender = contract.sender()
    try:
        (outcome,) = await sender.send([contract.message(device)])
    finally:
        await sender.aclose()
    assert outcome.kind is OutcomeKind.TRANSIENT


async def test_an_oversize_payload_is_rejected_before_sending(contract: Contract) -> None:
    device = await contract.device()
    sender = contract.sender()
    try:
        (outcome,) = await sender.send([contract.message(device, OVERSIZE[contract.platform])])
    finally:
        await sender.aclose()
    assert outcome.kind is OutcomeKind.PAYLOAD_REJECTED
    assert await contract.sims.control.rejections(contract.sim) == {}


async def test_many_sends_share_pooled_connections(contract: Contract) -> None:
    devices = [await contract.device() for _ in range(200)]
    sender = contract.sender()
    try:
        results = await asyncio.gather(*(sender.send([contract.message(d)]) for d in devices))
    finally:
        await sender.aclose()
    assert {r[0].kind for r in results} == {OutcomeKind.DELIVERED}
    assert sum((await contract.sims.control.counts(contract.sim)).values()) == 200
