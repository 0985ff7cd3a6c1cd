"""The recorder's flushing, with a store that fails on demand: a failed flush loses nothing,
and a bucket that ended is written once more, never again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.metrics.recorder import MetricsRecorder
from shared.metrics.series import Granularity
from shared.store.metrics import BucketRow

START = datetime(2026, 12, 6, 9, 0, 30, tzinfo=UTC).timestamp()


class FlakyStore:
    def __init__(self) -> None:
        self.failing = False
        self.flushes: list[dict[tuple[Granularity, int], dict[str, float]]] = []

    async def write(self, rows: Sequence[BucketRow]) -> None:
        if self.failing:
            raise ConnectionError("storage is away")
        self.flushes.append({(r.granularity, r.start): dict(r.counts) for r in rows})


def _recorder() -> tuple[MetricsRecorder, FlakyStore, list[float]]:
    now = [START]
    recorder = MetricsRecorder(
        None,  # type: ignore[arg-type]  # the store below replaces the one it builds on tables
        enabled=True,
        flush_seconds=60,
        clock=lambda: now[0],
    )
    store = FlakyStore()
    recorder.store = store  # type: ignore[assignment]
    return recorder, store, now


async def test_a_failed_flush_keeps_its_counts_for_the_next() -> None:
    recorder, store, _ = _recorder()
    recorder.count("h", "r|create", 2)
    store.failing = True
    await recorder.flush()
    recorder.count("h", "r|create", 1)
    store.failing = False
    await recorder.flush()
    (written,) = store.flushes
    assert {counts["r|create"] for counts in written.values()} == {3}
    assert {granularity for granularity, _ in written} == set(Granularity)
    await recorder.aclose()


async def test_an_ended_minute_is_not_written_again() -> None:
    recorder, store, now = _recorder()
    recorder.count("h", "r|read")
    await recorder.flush()
    now[0] += 60  # the next minute
    recorder.count("h", "r|read")
    await recorder.flush()
    first, second = store.flushes
    (old,) = [start for granularity, start in first if granularity is Granularity.MINUTE]
    (new,) = [start for granularity, start in second if granularity is Granularity.MINUTE]
    assert new == old + 1
    assert len(second) == 3  # the new minute, and the same hour and day
    (hour,) = [counts for (g, _), counts in second.items() if g is Granularity.HOUR]
    assert hour == {"r|read": 2}
    await recorder.flush()
    assert len(store.flushes) == 2  # nothing changed: nothing written
    await recorder.aclose()
