"""Sends to a fleet of 20,000 devices through the whole local stack, counted where they land:
at the simulators. Exactly once on a clean run; at least once, and told truthfully, when the
push services fail, when a host dies mid-send, and when the time to live runs out."""

from __future__ import annotations

import base64
import re

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue.aio import QueueClient
from sending.conftest import NS, SIM_NAMES, Stack, outcome_counts

from emulator.pns import RunningSimulators
from emulator.queue_rest import QUEUE_API_VERSION
from shared.fanout.steps import SLICE
from support.processes import REPO, HostProcess, running_host, spawn_host
from support.stack import NhCaller

from .conftest import (
    EXPRESSION,
    FLEET_SIZE,
    PLATFORMS,
    SHORT_LEASE_SECONDS,
    Fleet,
    all_counts,
    eventually,
    host_env,
    patient,
    send_template,
)

pytestmark = pytest.mark.slow

REPORT_NAMES = {"apns": "Apns", "fcmv1": "FcmV1", "wns": "Wns", "adm": "Adm"}
# A step records its progress after its slices, filed while the next is sent: a step rerun after
# its host died repeats at most two slices, not its page of 1,000 (shared.fanout.steps).
REPEATABLE = 2 * SLICE


def _success(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The outcome counts telemetry owes for these simulator counts: all of them Success."""
    return {REPORT_NAMES[p]: {"Success": sum(c.values())} for p, c in counts.items() if c}


async def test_a_tag_expression_send_reaches_each_matching_device_exactly_once(
    fleet_stack: Stack, fleet: Fleet
) -> None:
    async with patient(fleet_stack) as http:
        notification = await send_template(fleet_stack, http, EXPRESSION)
        report = await fleet_stack.finished(http, notification, timeout=240)
    counts = await all_counts(fleet_stack)
    for platform in PLATFORMS:
        assert counts[platform] == dict.fromkeys(fleet.expected(platform), 1), platform
    assert report.findtext(f"{NS}State") == "Completed"
    assert outcome_counts(report) == _success(counts)


async def test_under_push_service_errors_and_throttling_every_device_still_gets_it(
    fleet_stack: Stack, fleet: Fleet, sims: RunningSimulators
) -> None:
    for seed, platform in enumerate(PLATFORMS):
        await sims.control.set_faults(
            SIM_NAMES[platform], error_rate=0.10, throttle_rate=0.05, retry_after=1, seed=seed
        )
    async with patient(fleet_stack) as http:
        notification = await send_template(fleet_stack, http, EXPRESSION)
        report = await fleet_stack.finished(http, notification, timeout=240)
    counts = await all_counts(fleet_stack)
    for platform in PLATFORMS:
        assert counts[platform].keys() == fleet.expected(platform), platform
        assert await sims.control.rejections(SIM_NAMES[platform]), "no fault was injected"
    assert report.findtext(f"{NS}State") == "Completed"
    assert outcome_counts(report) == _success(counts)


_RERUN = re.compile(
    r"Executed 'fanout_worker' \(queueTrigger, message \S+, dequeue count [2-9]\d*\)"
)


def _reruns(*hosts: HostProcess) -> int:
    """Walk steps run again after a host died holding them (their message came back)."""
    return sum(len(_RERUN.findall(host.log())) for host in hosts)


async def test_a_host_killed_mid_send_loses_no_device_and_repeats_at_most_two_slices(
    fleet_stack: Stack, fleet: Fleet, app: HostProcess, azurite: str, sims: RunningSimulators
) -> None:
    # A second host beside the module's, whose messages come back soon after it dies. The
    # send goes through it, so it runs the plan and picks up most of the walk at once.
    victim = spawn_host(REPO, host_env(azurite, sims), queue_lease_seconds=SHORT_LEASE_SECONDS)
    replacement = None
    try:
        before = _reruns(app)
        victim_stack = Stack(sims, NhCaller(victim.url, fleet.hub))
        async with patient(victim_stack) as http:
            notification = await send_template(victim_stack, http, None)  # every device

        async def some_delivered() -> bool:
            counts = await all_counts(fleet_stack)
            return sum(len(c) for c in counts.values()) >= FLEET_SIZE // 10

        await eventually(some_delivered, 120, "the first deliveries")
        victim.kill()
        at_kill = sum(map(len, (await all_counts(fleet_stack)).values()))
        replacement = spawn_host(
            REPO, host_env(azurite, sims), queue_lease_seconds=SHORT_LEASE_SECONDS
        )
        async with patient(fleet_stack) as http:
            report = await fleet_stack.finished(http, notification, timeout=240)
        reruns = _reruns(app, replacement) - before
    finally:
        victim.kill()
        if replacement is not None:
            replacement.stop()
    counts = await all_counts(fleet_stack)
    distinct = sum(map(len, counts.values()))
    duplicates = sum(sum(c.values()) for c in counts.values()) - distinct
    assert at_kill < FLEET_SIZE, "the send ended before the kill"
    assert reruns >= 1, "the killed host held no step of the walk"
    for platform in PLATFORMS:
        assert counts[platform].keys() == fleet.expected(platform) | fleet.others(platform)
    assert duplicates <= REPEATABLE * reruns, (duplicates, reruns)
    assert report.findtext(f"{NS}State") == "Completed"
    # Telemetry counts each device once: a repeated step rewrites its own row.
    assert outcome_counts(report) == {
        REPORT_NAMES[p]: {"Success": len(c)} for p, c in counts.items()
    }


async def test_past_its_time_to_live_a_send_stops_and_counts_the_rest_as_dropped(
    fleet_stack: Stack, azurite: str, sims: RunningSimulators
) -> None:
    for platform in PLATFORMS:
        await sims.control.set_faults(SIM_NAMES[platform], throttle_rate=1.0, retry_after=2)
    few = [0, 1, 9, 10, 18, 19]  # two APNs, two FCM v1, one WNS and one ADM device
    expression = " || ".join(f"$InstallationId:{{dev{n:06d}}}" for n in few)
    short_ttl = host_env(azurite, sims, HERALD_NOTIFICATION_TTL_SECONDS="3")
    with running_host(REPO, short_ttl) as host:
        stack = Stack(sims, NhCaller(host.url, fleet_stack.nh.hub))
        async with patient(stack) as http:
            notification = await send_template(stack, http, expression)

            async def all_dropped() -> bool:
                report = await stack.details(http, notification)
                dropped = [c.get("Dropped", 0) for c in outcome_counts(report).values()]
                return sum(dropped) == len(few)

            await eventually(all_dropped, 60, "every delivery to count as dropped")
            report = await stack.finished(http, notification, timeout=30)
    # Abandoned while a retry past the time to live is pending; every step done: Completed.
    assert report.findtext(f"{NS}State") == "Completed"
    assert outcome_counts(report) == {name: {"Dropped": 2} for name in ("Apns", "FcmV1")} | {
        name: {"Dropped": 1} for name in ("Wns", "Adm")
    }
    counts = await all_counts(fleet_stack)
    assert counts == {platform: {} for platform in PLATFORMS}
    assert await sims.control.rejections("apns"), "nothing was throttled"


def _raw_queue(azurite: str, name: str) -> QueueClient:
    """Writes message text as given (the host expects base64, so that is the caller's job)."""
    return QueueClient.from_connection_string(azurite, name, api_version=QUEUE_API_VERSION)


def _b64(body: bytes) -> str:
    return base64.b64encode(body).decode()


MALFORMED = [
    _b64(b"not json \xff"),
    _b64(b'{"kind":"scan","hub":"x","id":"y","shard":-1,"step":0}'),
    _b64(b"[1, 2, 3]"),
    "%% this is not base64 %%",
]


async def _texts(queue: QueueClient) -> list[str]:
    return [m.content async for m in queue.receive_messages(max_messages=32, visibility_timeout=1)]


async def test_malformed_queue_messages_end_in_poison_without_holding_up_a_send(
    fleet_stack: Stack, fleet: Fleet, azurite: str
) -> None:
    for name in ("fanout", "deliveries"):
        async with _raw_queue(azurite, name) as queue:
            for text in MALFORMED:
                await queue.send_message(text)
    few = [0, 9, 18, 19]
    expression = " || ".join(f"$InstallationId:{{dev{n:06d}}}" for n in few)
    async with patient(fleet_stack) as http:
        notification = await send_template(fleet_stack, http, expression)
        report = await fleet_stack.finished(http, notification, timeout=60)
    assert report.findtext(f"{NS}State") == "Completed"
    assert sum(map(len, (await all_counts(fleet_stack)).values())) == len(few)
    # The poison handlers cannot read them either: they rest one queue further, for an operator.
    for name in ("fanout", "deliveries"):
        async with _raw_queue(azurite, f"{name}-poison-poison") as poison:

            async def all_poisoned(poison: QueueClient = poison) -> bool:
                try:
                    peeked = await poison.peek_messages(max_messages=32)
                except ResourceNotFoundError:  # the host makes it with the first message
                    return False
                return len(peeked) >= len(MALFORMED)

            await eventually(all_poisoned, 180, f"{name}-poison-poison to fill")
            assert sorted(await _texts(poison)) == sorted(MALFORMED)
