"""A deleted hub's rows are purged from every table in bounded runs, and no other hub's row is
touched; its name is refused until the purge ends, with the purge's progress.

These call the timer's purge pass in-process against Azurite, with a small bound per run."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from feedback.conftest import history_entry

from shared.config import Settings
from shared.engine import Engine
from shared.errors import ConflictError, NotFoundError
from shared.feedback.registry import Tally
from shared.feedback.reports import apply_reports
from shared.hubs.model import Hub
from shared.hubs.purge import purge_deleted_hubs, settling_time
from shared.jobs.model import Job, JobType, new_job_id
from shared.model.installation import parse_installation
from shared.store.feedback import DeadHandle
from shared.store.hygiene import DueDeletion, HygieneStore
from shared.store.installations import InstallationKey
from shared.store.notifications import NotificationMeta, NotificationState
from shared.store.tables import ALL_TABLES, HUBS
from support.stack import app_env, create_hub

from .storage import rows_except, rows_of

BOUND = 37


@pytest.fixture
async def small_engine(azurite: str) -> AsyncIterator[Engine]:
    settings = dataclasses.replace(Settings.from_env(app_env(azurite)), purge_rows_per_run=BOUND)
    built = Engine.build(settings)
    yield built
    await built.aclose()


def _dead(installation_id: str, handle: str, now: datetime) -> DeadHandle:
    return DeadHandle("apns", handle, installation_id, "expired_handle", "Unregistered", "n0", now)


async def _populate(engine: Engine, hub: Hub, devices: int = 24) -> None:
    """Something of the hub in every place a hub keeps rows."""
    now = datetime.now(UTC)
    for n in range(devices):
        body = {
            "installationId": f"d{n}",
            "platform": "apns",
            "pushChannel": f"00{n:04x}",
            "tags": ["news", f"t{n % 3}"],
            "userId": f"u{n % 5}",
            "templates": {"main": {"body": '{"aps":{"alert":"$(x)"}}', "tags": ["tpl"]}},
        }
        key = InstallationKey.of(hub.name, f"d{n}", hub.shard_count)
        await engine.installations.save(key, None, parse_installation(body, max_tags=60))
    for k in range(3):
        expires = now + timedelta(minutes=30)
        meta = NotificationMeta(hub.name, f"n{k}", b"{}", NotificationState.ENQUEUED, now, expires)
        await engine.notifications.create(meta)
        await engine.notifications.claim_step(hub.name, f"n{k}", "s~0000~000000", "message")
        await engine.events.record(hub.name, f"n{k}", "d1", "opened")  # its mark and count
    await engine.schedules.park(hub.name, "n0", now + timedelta(days=30))
    for platform in ("apns", "fcmv1", "wns"):
        await engine.feedback.add(hub.name, history_entry(platform, f"h-{platform}", now))
    await engine.feedback.record(hub.name, [_dead("d1", "0001", now), _dead("d9", "0009", now)])
    hygiene = HygieneStore(engine.tables)
    await hygiene.schedule_deletion(DueDeletion(hub.name, "d2", "apns", "0002"), now)
    await hygiene.add_to_summary(hub.name, {"expired": 1}, set(), now)
    engine.metrics.count(hub.name, "r|create", 10)
    await engine.metrics.flush()  # its minute, hour and day rows
    for _ in range(2):
        await engine.jobs.create_job(Job(hub.name, new_job_id(), JobType.EXPORT, "https://c"))


def _past_settling(engine: Engine) -> datetime:
    return datetime.now(UTC) + settling_time(engine.settings.pending_grace_seconds)


async def _run(engine: Engine, now: datetime) -> int:
    return await purge_deleted_hubs(engine, await engine.hubs.list_deleted(), now)


async def test_a_deleted_hub_goes_in_bounded_runs_and_its_neighbours_keep_every_row(
    engine: Engine, small_engine: Engine, azurite: str
) -> None:
    name = f"p{uuid.uuid4().hex[:8]}"
    doomed = await create_hub(azurite, name)
    # Neighbours whose names share its prefix, before and after it in key order.
    for neighbour in (f"{name}-2", f"{name}.b", f"{name}0", f"{name}_x", f"q{name}"):
        await _populate(engine, await create_hub(azurite, neighbour))
    await _populate(engine, doomed)
    rows = await rows_of(engine, name)
    assert {table for table, _, _ in rows} == set(ALL_TABLES)
    others = await rows_except(engine, [name])

    await engine.hubs.delete_hub(name)

    with pytest.raises(NotFoundError):
        await engine.hubs.get_hub(name, fresh=True)
    with pytest.raises(ConflictError, match="is being purged: 0 rows deleted so far"):
        await engine.hubs.create_hub(Hub.new(name))
    runs: list[int] = []
    while await engine.hubs.get_deleted(name) is not None:
        runs.append(await _run(small_engine, _past_settling(small_engine)))
        if len(runs) == 1:
            with pytest.raises(ConflictError, match=f"{runs[0]} rows deleted so far; try again"):
                await engine.hubs.create_hub(Hub.new(name))
        assert len(runs) < 50
    assert all(deleted <= BOUND for deleted in runs)
    assert sum(runs) == len(rows) - 1  # all but the hub's own row, whose tombstone is removed
    assert len(runs) > len(rows) // BOUND
    assert await rows_of(engine, name) == set()
    assert await rows_except(engine, [name]) == others

    await create_hub(azurite, name)
    assert await rows_of(engine, name) == {(HUBS, "hub", name)}


async def test_the_purge_ends_only_after_the_settling_time_and_takes_late_rows_too(
    engine: Engine, azurite: str
) -> None:
    hub = await create_hub(azurite, f"late{uuid.uuid4().hex[:8]}")
    await _populate(engine, hub, devices=4)
    deleted = await engine.hubs.delete_hub(hub.name)
    settled = deleted.deleted_at + settling_time(engine.settings.pending_grace_seconds)

    await _run(engine, deleted.deleted_at)
    assert await rows_of(engine, hub.name) == {(HUBS, "hub", hub.name)}  # the tombstone stays
    # A request that read the hub just before the delete writes an installation after it.
    late = parse_installation(
        {"installationId": "late", "platform": "apns", "pushChannel": "00ff", "tags": ["a"]},
        max_tags=60,
    )
    await engine.installations.save(InstallationKey.of(hub.name, "late", 16), None, late)
    await _run(engine, settled - timedelta(milliseconds=1))
    assert await engine.hubs.get_deleted(hub.name) is not None

    await _run(engine, settled)

    assert await rows_of(engine, hub.name) == set()


async def test_two_runs_at_once_purge_the_same_hub_without_error(
    engine: Engine, azurite: str
) -> None:
    hub = await create_hub(azurite, f"twice{uuid.uuid4().hex[:8]}")
    await _populate(engine, hub)
    await engine.hubs.delete_hub(hub.name)

    now = _past_settling(engine)
    await asyncio.gather(_run(engine, now), _run(engine, now))

    assert await rows_of(engine, hub.name) == set()


async def test_deleting_again_keeps_the_purge_and_a_name_without_a_hub_is_purged_too(
    engine: Engine, azurite: str
) -> None:
    hub = await create_hub(azurite, f"again{uuid.uuid4().hex[:8]}")
    first = await engine.hubs.delete_hub(hub.name)
    assert await engine.hubs.delete_hub(hub.name) == first
    # Rows a hub deleted before tombstones existed left behind: deleting its name purges them.
    orphan = Hub.new(f"orphan{uuid.uuid4().hex[:8]}")
    await _populate(engine, orphan, devices=3)

    await engine.hubs.delete_hub(orphan.name)
    await _run(engine, _past_settling(engine))

    assert await rows_of(engine, hub.name) == set()
    assert await rows_of(engine, orphan.name) == set()


async def test_a_report_for_a_hub_that_is_gone_is_dropped_without_a_trace(
    engine: Engine, azurite: str
) -> None:
    gone = await create_hub(azurite, f"gone{uuid.uuid4().hex[:8]}")
    kept = await create_hub(azurite, f"kept{uuid.uuid4().hex[:8]}")
    await engine.hubs.delete_hub(gone.name)
    now = datetime.now(UTC)
    for hub in (gone.name, kept.name):
        await engine.feedback.record(hub, [_dead("d1", "0001", now)])

    tally = Tally()
    await apply_reports(engine, tally, now)

    assert await rows_of(engine, gone.name) == {(HUBS, "hub", gone.name)}  # the tombstone only
    assert gone.name not in tally.by_hub()
    assert tally.by_hub()[kept.name] == {"unmatched": 1}
