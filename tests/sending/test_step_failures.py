"""A send's step that fails part-way, on real storage: run again, it resumes after what it
recorded and delivers nothing twice; failing every attempt, its poison handler counts and names
what it never reached, the walk goes on, and the notification completes.

The steps run in this process against Azurite, with a recording sender in place of a push
service, so a failure can be put exactly where a storage outage would strike."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.queue import QueueMessage

from shared.engine import Engine
from shared.fanout import poison, worker
from shared.fanout.messages import Plan, Scan, encode
from shared.fanout.steps import SLICE
from shared.hubs.model import Hub
from shared.model.channels import InstallationPlatform
from shared.model.installation import Installation
from shared.model.templates import InstallationTemplate
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.sending.formats import SendFormat
from shared.sending.outcomes import NhOutcome
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationMeta, NotificationState
from shared.store.seeding import seed_installations
from shared.telemetry import build_report
from support.stack import create_hub, engine_for

DEVICES = 1_100  # one full page of 1,000 and a second page of 100, on one shard


class Outage(RuntimeError):
    pass


class RecordingSender:
    platform = Platform.APNS

    def __init__(self) -> None:
        self.delivered: Counter[str] = Counter()
        self.throttled: set[str] = set()  # handles answered 429 (once each)

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        outcomes = []
        for m in messages:
            if m.handle in self.throttled:
                self.throttled.discard(m.handle)
                outcomes.append(Outcome(OutcomeKind.THROTTLED, m.handle, 429, "", retry_after=0))
            else:
                self.delivered[m.handle] += 1
                outcomes.append(Outcome(OutcomeKind.DELIVERED, m.handle, 200, ""))
        return outcomes

    async def aclose(self) -> None:
        pass


class FailingPool:
    """Hands out the recording sender; once ``healthy`` slices have gone, every later one
    meets an outage, as a storage or network failure would strike a step part-way."""

    def __init__(self, healthy: int | None = None) -> None:
        self.sender = RecordingSender()
        self.healthy = healthy

    def get(self, hub: Hub, platform: Platform) -> RecordingSender:
        if self.healthy is not None:
            if self.healthy == 0:
                raise Outage("the storage account stopped answering")
            self.healthy -= 1
        return self.sender

    async def aclose(self) -> None:
        pass


def _device(n: int) -> Installation:
    return Installation(
        installation_id=f"dev{n:05d}",
        platform=InstallationPlatform.APNS,
        push_channel=f"{n:064x}",
        templates={"main": InstallationTemplate('{"aps":{"alert":"$(msg)"}}')},
    )


@pytest.fixture
async def seeded(azurite: str) -> AsyncIterator[tuple[Engine, Hub]]:
    hub = await create_hub(azurite, f"steps{datetime.now(UTC):%H%M%S%f}", shard_count=1)
    engine = engine_for(azurite)
    await seed_installations(engine.tables, hub.name, 1, [_device(n) for n in range(DEVICES)])
    yield engine, hub
    await engine.aclose()


async def _notification(engine: Engine, hub: Hub) -> NotificationMeta:
    now = datetime.now(UTC)
    request = SendRequest(
        format=SendFormat.TEMPLATE, payload=json.dumps({"msg": "hi"}).encode(), properties={}
    )
    meta = NotificationMeta(
        hub=hub.name,
        notification_id=f"n{now:%H%M%S%f}",
        request=request.to_json().encode(),
        state=NotificationState.ENQUEUED,
        enqueued_at=now,
        expires_at=now + timedelta(minutes=30),
    )
    await engine.notifications.create(meta)
    await worker.handle_fanout(encode(Plan(hub.name, meta.notification_id)).encode(), "plan")
    return meta


def _use(monkeypatch: pytest.MonkeyPatch, engine: Engine, pool: FailingPool) -> None:
    monkeypatch.setattr(engine, "senders", pool)
    for module in (worker, poison):
        monkeypatch.setattr(module, "get_engine", lambda: engine)


def _first_page(meta: NotificationMeta) -> bytes:
    return encode(Scan(meta.hub, meta.notification_id, 0, 0, None)).encode()


@dataclass
class Outaged:
    """A planned send whose steps meet an outage after two healthy slices."""

    engine: Engine
    hub: Hub
    pool: FailingPool
    meta: NotificationMeta


@pytest.fixture
async def outaged(seeded: tuple[Engine, Hub], monkeypatch: pytest.MonkeyPatch) -> Outaged:
    engine, hub = seeded
    pool = FailingPool(healthy=2)
    _use(monkeypatch, engine, pool)
    return Outaged(engine, hub, pool, await _notification(engine, hub))


async def test_a_step_run_again_resumes_after_its_progress_and_delivers_nothing_twice(
    outaged: Outaged,
) -> None:
    engine, hub, pool, meta = outaged.engine, outaged.hub, outaged.pool, outaged.meta
    with pytest.raises(Outage):
        await worker.handle_fanout(_first_page(meta), "message-1")
    assert sum(pool.sender.delivered.values()) == 2 * SLICE
    pool.healthy = None  # the outage is over; the queue hands the same message back
    follow = await worker.handle_fanout(_first_page(meta), "message-1")
    (second_page,) = follow
    await worker.handle_fanout(second_page.encode(), "message-2")
    assert len(pool.sender.delivered) == DEVICES
    assert set(pool.sender.delivered.values()) == {1}
    rows = await engine.notifications.read_all(hub.name, meta.notification_id)
    report = build_report(rows, "loc", datetime.now(UTC))
    assert report.state.value == "Completed"
    assert report.counts == {Platform.APNS: {NhOutcome.SUCCESS: DEVICES}}


async def test_a_step_cut_short_in_its_last_slice_repeats_only_the_last_two(
    seeded: tuple[Engine, Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of four slices records progress after the first two only: the record after the
    third could only spare that slice when the fourth is cut short."""
    engine, hub = seeded
    pool = FailingPool(healthy=3)
    _use(monkeypatch, engine, pool)
    meta = await _notification(engine, hub)
    recorded: list[str] = []
    record = engine.notifications.record_progress

    async def noting_progress(*args: object) -> None:
        recorded.append(str(args[-1]))
        await record(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.notifications, "record_progress", noting_progress)
    with pytest.raises(Outage):
        await worker.handle_fanout(_first_page(meta), "message-1")
    assert recorded == [f"dev{SLICE - 1:05d}\x1fmain", f"dev{2 * SLICE - 1:05d}\x1fmain"]

    pool.healthy = None
    (second_page,) = await worker.handle_fanout(_first_page(meta), "message-1")
    await worker.handle_fanout(second_page.encode(), "message-2")
    delivered = pool.sender.delivered
    assert len(delivered) == DEVICES
    twice = {handle for handle, times in delivered.items() if times == 2}
    assert twice == {f"{n:064x}" for n in range(2 * SLICE, 3 * SLICE)}
    assert max(delivered.values()) == 2
    rows = await engine.notifications.read_all(hub.name, meta.notification_id)
    report = build_report(rows, "loc", datetime.now(UTC))
    assert report.counts == {Platform.APNS: {NhOutcome.SUCCESS: DEVICES}}


async def test_a_step_that_fails_every_attempt_is_accounted_for_and_the_walk_goes_on(
    outaged: Outaged,
) -> None:
    engine, hub, pool, meta = outaged.engine, outaged.hub, outaged.pool, outaged.meta
    for _ in range(5):  # the host's maxDequeueCount
        with pytest.raises(Outage):
            await worker.handle_fanout(_first_page(meta), "message-1")
    (second_page,) = await poison.handle_fanout_poison(_first_page(meta), "poison-1")
    pool.healthy = None
    await worker.handle_fanout(second_page.encode(), "message-2")

    reached = 2 * SLICE + (DEVICES - 1000)
    assert len(pool.sender.delivered) == reached
    assert set(pool.sender.delivered.values()) == {1}
    rows = await engine.notifications.read_all(hub.name, meta.notification_id)
    report = build_report(rows, "loc", datetime.now(UTC), None)
    abandoned = NhOutcome.ABANDONED_NOTIFICATION_MESSAGES
    assert report.state.value == "Completed"
    assert report.counts == {
        Platform.APNS: {NhOutcome.SUCCESS: reached, abandoned: DEVICES - reached}
    }
    failure = report.failures[0]
    assert (failure.outcome, failure.installation_id) == (abandoned, f"dev{2 * SLICE:05d}")
    assert "Outage: the storage account stopped answering" in failure.reason
    assert {f.handle for f in report.failures}.isdisjoint(pool.sender.delivered)


async def test_a_poisoned_plan_abandons_the_notification(
    seeded: tuple[Engine, Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, hub = seeded
    _use(monkeypatch, engine, FailingPool())
    now = datetime.now(UTC)
    request = SendRequest(format=SendFormat.TEMPLATE, payload=b"{}", properties={})
    meta = NotificationMeta(
        hub=hub.name,
        notification_id="plan-poisoned",
        request=request.to_json().encode(),
        state=NotificationState.ENQUEUED,
        enqueued_at=now,
        expires_at=now + timedelta(minutes=30),
    )
    await engine.notifications.create(meta)
    plan = encode(Plan(hub.name, meta.notification_id)).encode()
    assert await poison.handle_fanout_poison(plan, "poison-plan") == []
    rows = await engine.notifications.read_all(hub.name, meta.notification_id)
    assert build_report(rows, "loc", now).state.value == "Abandoned"
    assert await worker.handle_fanout(plan, "late-copy") == []  # abandoned: it stays so


async def test_a_rerun_that_sends_a_slice_again_queues_its_retries_apart(
    outaged: Outaged, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run queued slice 0's retries, then failed to record the slice; the second
    sends it again, and its retries must not collide with the first run's."""
    engine, hub, pool, meta = outaged.engine, outaged.hub, outaged.pool, outaged.meta
    pool.healthy = None
    throttled = f"{3:064x}"
    pool.sender.throttled = {throttled}
    record = engine.notifications.record_progress
    failed = False

    async def record_once_failing(*args: object, **kwargs: object) -> None:
        nonlocal failed
        if not failed:
            failed = True
            raise Outage("the progress write timed out")
        await record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.notifications, "record_progress", record_once_failing)
    queue = engine.queue("deliveries")
    await queue.create_queue()  # the host makes it when it listens; no host runs here
    with pytest.raises(Outage):
        await worker.handle_fanout(_first_page(meta), "message-1")
    pool.sender.throttled = {throttled}  # the slice is sent again and throttled again
    (second_page,) = await worker.handle_fanout(_first_page(meta), "message-1")
    await worker.handle_fanout(second_page.encode(), "message-2")
    retries: list[QueueMessage] = []
    deadline = time.monotonic() + 30
    while len(retries) < 2 and time.monotonic() < deadline:  # queued with a 1 s backoff
        retries += [m async for m in queue.receive_messages(max_messages=32)]
        await asyncio.sleep(0.2)
    keys = {json.loads(m.content)["key"] for m in retries}
    assert len(retries) == 2
    assert len(keys) == 2, keys
    for message in retries:
        await worker.handle_retry(message.content.encode(), message.id)
    assert pool.sender.delivered[throttled] == 2  # at least once: once per run's retry
    rows = await engine.notifications.read_all(hub.name, meta.notification_id)
    assert build_report(rows, "loc", datetime.now(UTC)).state.value == "Completed"
