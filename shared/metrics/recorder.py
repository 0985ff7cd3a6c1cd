"""Counting in memory and writing the totals now and then: never a storage write per count.

Whatever counts (a send step's slice, an API request, the timer) adds to the process's running
totals of the current minute, hour and day of its hub. The first count after a flush schedules
the next one, ``flush_seconds`` later, on the event loop; a flush writes each bucket that
changed, whole (shared.store.metrics), so a hub costs a process at most three writes per
interval however much it sends. Buckets that ended are forgotten once written. A flush that
fails keeps its buckets for the next one; counts still in memory when a process is killed
are lost, which a metric can afford (the notification's own telemetry is exact).

With ``HERALD_METRICS=off`` the recorder counts nothing and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping

from shared.metrics.otel import OtelExport
from shared.metrics.series import Counts, Granularity
from shared.store.metrics import BucketRow, MetricsStore
from shared.store.tables import Tables

log = logging.getLogger(__name__)

_Bucket = tuple[str, Granularity, int]  # hub, granularity, start (minutes since the epoch)


class MetricsRecorder:
    def __init__(
        self,
        tables: Tables,
        *,
        enabled: bool,
        flush_seconds: float,
        otel: OtelExport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.enabled = enabled
        self.store = MetricsStore(tables, writer=uuid.uuid4().hex[:12])
        self._flush_seconds = flush_seconds
        self._otel = otel
        self._clock = clock
        self._totals: dict[_Bucket, Counts] = {}
        self._dirty: set[_Bucket] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()  # held, so none is collected midway
        self._lock = asyncio.Lock()  # one flush at a time

    def count(self, hub: str, key: str, number: float = 1) -> None:
        """Add ``number`` to one series of ``hub`` (shared.metrics.series names the keys)."""
        if self.enabled:
            self.record(hub, {key: number})

    def record(self, hub: str, counts: Mapping[str, float]) -> None:
        """Add a step's counts to ``hub``'s current buckets."""
        if not (self.enabled and counts):
            return
        minute = int(self._clock() // 60)
        for granularity in Granularity:
            bucket = (hub, granularity, granularity.start_of(minute))
            totals = self._totals.get(bucket)
            if totals is None:
                totals = self._totals[bucket] = Counts()
            totals.merge(counts)
            self._dirty.add(bucket)
        if self._otel is not None:
            self._otel.record(hub, counts)
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._flush_seconds, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def flush(self) -> None:
        """Write every bucket that changed since the last flush."""
        async with self._lock:
            dirty, self._dirty = self._dirty, set()
            if not dirty:
                return
            rows = [BucketRow(*bucket, dict(self._totals[bucket])) for bucket in dirty]
            try:
                await self.store.write(rows)
            except Exception:
                log.info(  # not a warning: the next flush writes them, the totals kept
                    "Could not write %d metrics buckets; the next flush tries again",
                    len(rows),
                    exc_info=True,
                )
                self._dirty |= dirty
                self._schedule()
                return
            self._forget_ended()

    def _forget_ended(self) -> None:
        minute = int(self._clock() // 60)
        ended = [
            bucket
            for bucket in self._totals
            if bucket not in self._dirty and bucket[2] + bucket[1].minutes <= minute
        ]
        for bucket in ended:
            del self._totals[bucket]

    async def aclose(self) -> None:
        """Write what is left (the engine closes)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()
