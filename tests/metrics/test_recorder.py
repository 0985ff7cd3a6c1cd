"""The recorder against a real Azurite: counts in memory, a few rows per flush whatever the
number of counts, one row per writer and bucket, sums across writers, and retention."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared import metrics
from shared.engine import Engine
from shared.metrics.recorder import MetricsRecorder
from shared.metrics.retention import prune_metrics
from shared.metrics.series import Counts, Granularity, epoch_minute, merged
from shared.store.tables import METRICS
from support.stack import create_hub

# 23:59 on the last day of a month: the next minute is in another day, month and year.
EVE = datetime(2025, 12, 31, 23, 59, 10, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> float:
        return self.moment.timestamp()


def _recorder(engine: Engine, clock: Clock, flush_seconds: float = 60.0) -> MetricsRecorder:
    return MetricsRecorder(engine.tables, enabled=True, flush_seconds=flush_seconds, clock=clock)


async def _rows(engine: Engine, hub: str) -> list[tuple[str, str]]:
    table = await engine.tables.get(METRICS)
    query = "PartitionKey ge @low and PartitionKey lt @high"
    found = table.query_entities(query, parameters={"low": f"{hub}~", "high": f"{hub}~\x7f"})
    return sorted([(str(r["PartitionKey"]), str(r["RowKey"])) async for r in found])


async def test_many_counts_cost_one_row_per_bucket_and_a_flush_replaces_its_own_rows(
    engine: Engine,
) -> None:
    hub = f"m{uuid.uuid4().hex[:8]}"
    clock = Clock(EVE)
    recorder = _recorder(engine, clock)
    for _ in range(5000):
        recorder.record(hub, {"d|apns|delivered": 1})
    await recorder.flush()
    writer = recorder.store.writer
    assert await _rows(engine, hub) == [
        (f"{hub}~d~2025", f"1231~{writer}"),
        (f"{hub}~h~202512", f"3123~{writer}"),
        (f"{hub}~m~20251231", f"2359~{writer}"),
    ]
    recorder.count(hub, "d|apns|delivered", 5)
    await recorder.flush()
    assert len(await _rows(engine, hub)) == 3  # replaced, not added
    (minute,) = await recorder.store.read(hub, Granularity.MINUTE, EVE, EVE + timedelta(minutes=1))
    assert minute == (epoch_minute(EVE), {"d|apns|delivered": 5005})
    # A range that ends inside the minute (now, for a reader) still holds that minute.
    assert await recorder.store.read(hub, Granularity.MINUTE, EVE, EVE + timedelta(seconds=1))


async def test_a_read_sums_writers_and_crosses_day_month_and_year(engine: Engine) -> None:
    hub = f"m{uuid.uuid4().hex[:8]}"
    clock = Clock(EVE)
    first, second = _recorder(engine, clock), _recorder(engine, clock)
    for recorder in (first, second):
        recorder.record(hub, Counts({"n|tag|apple": 1, "lx|apns": 10.0}))
    clock.moment = EVE + timedelta(minutes=1)  # 2026-01-01 00:00
    first.record(hub, {"n|tag|apple": 4, "lx|apns": 3.0})
    await asyncio.gather(first.flush(), second.flush())
    store = first.store
    for granularity, expected_buckets in ((Granularity.MINUTE, 2), (Granularity.HOUR, 2)):
        rows = await store.read(hub, granularity, EVE - timedelta(days=1), EVE + timedelta(days=1))
        starts = sorted({start for start, _ in rows})
        assert len(starts) == expected_buckets, granularity
        assert merged(counts for _, counts in rows) == {"n|tag|apple": 6, "lx|apns": 10.0}
    days = await store.read(hub, Granularity.DAY, EVE - timedelta(days=3), EVE + timedelta(days=3))
    assert sorted({start for start, _ in days}) == [epoch_minute(EVE) - 1439, epoch_minute(EVE) + 1]
    assert merged(await store.read_all_days(hub))["n|tag|apple"] == 6
    only_new_year = await store.read(
        hub, Granularity.MINUTE, EVE + timedelta(seconds=50), EVE + timedelta(hours=1)
    )
    assert [counts for _, counts in only_new_year] == [{"n|tag|apple": 4, "lx|apns": 3.0}]


async def test_counts_are_written_by_themselves_within_the_flush_interval(engine: Engine) -> None:
    hub = f"m{uuid.uuid4().hex[:8]}"
    recorder = MetricsRecorder(engine.tables, enabled=True, flush_seconds=0.2)
    recorder.count(hub, "r|create")
    deadline = time.monotonic() + 30
    while len(await _rows(engine, hub)) < 3:
        assert time.monotonic() < deadline, "the counts were never written"
        await asyncio.sleep(0.1)


async def test_an_app_reported_event_counts_by_its_kind(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = f"m{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr("shared.engine.get_engine", lambda: engine)
    for kind in ("opened", "Opened", "actioned", "not a kind"):
        await metrics.count_event(hub, kind)
    await engine.metrics.flush()
    since = datetime.now(UTC) - timedelta(minutes=5)
    rows = await engine.metrics.store.read(hub, Granularity.DAY, since, since + timedelta(days=2))
    assert merged(counts for _, counts in rows) == {"o|opened": 2, "o|actioned": 1, "o|other": 1}


async def test_a_recorder_that_is_off_writes_nothing(engine: Engine) -> None:
    hub = f"m{uuid.uuid4().hex[:8]}"
    recorder = MetricsRecorder(engine.tables, enabled=False, flush_seconds=0.1)
    recorder.count(hub, "r|create")
    await recorder.aclose()
    assert await _rows(engine, hub) == []


async def test_retention_deletes_old_minutes_and_hours_once_a_day(
    engine: Engine, azurite: str
) -> None:
    hub = (await create_hub(azurite, f"m{uuid.uuid4().hex[:8]}")).name
    now = datetime.now(UTC)
    for age in (timedelta(days=100), timedelta(days=3), timedelta(0)):
        recorder = _recorder(engine, Clock(now - age))
        recorder.count(hub, "r|read")
        await recorder.flush()
    before = await _rows(engine, hub)
    assert len(before) == 9
    assert await prune_metrics(engine, now) == 3  # 100 days: minute and hour; 3 days: minute
    after = await _rows(engine, hub)
    kinds = sorted(partition.split("~")[1] for partition, _ in after)
    assert kinds == ["d", "d", "d", "h", "h", "m"]
    recorder = _recorder(engine, Clock(now - timedelta(days=5)))
    recorder.count(hub, "r|read")
    await recorder.flush()
    assert await prune_metrics(engine, now) == 0  # today's pass has run
