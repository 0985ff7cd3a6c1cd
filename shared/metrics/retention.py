"""Delete minute buckets after MINUTE_DAYS and hour buckets after HOUR_DAYS (day buckets stay:
they hold the registry size and the totals since the hub began).

The timer runs this; one pass over the hubs a day is enough, since the cutoff moves a day at a
time. A pass costs two queries per hub, and the deletes of a day's minute rows (1,440 per
writer) go in transactions of 100. The cursor row ``~cursor/metrics`` names the day of the
last pass, so the other runs of the day cost one read.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.engine import Engine
from shared.metrics.series import Granularity
from shared.store.hygiene import HygieneStore
from shared.store.metrics import HOUR_DAYS, MINUTE_DAYS

_SWEEP = "metrics"


async def prune_metrics(engine: Engine, now: datetime) -> int:
    """Today's pass, if it has not run yet; answers how many rows it deleted."""
    hygiene = HygieneStore(engine.tables)
    day = now.strftime("%Y%m%d")
    cursor = await hygiene.get_cursor(_SWEEP)
    if cursor is not None and cursor.get("day") == day:
        return 0
    store = engine.metrics.store
    deleted = 0
    async for hub in engine.hubs.list_hubs():
        minutes = now - timedelta(days=MINUTE_DAYS)
        deleted += await store.delete_before(hub.name, Granularity.MINUTE, minutes)
        hours = now - timedelta(days=HOUR_DAYS)
        deleted += await store.delete_before(hub.name, Granularity.HOUR, hours)
    await hygiene.set_cursor(_SWEEP, {"day": day})
    return deleted
