"""The feedback processor's purge of deleted hubs: their rows go, then their tombstones.

Each run deletes at most ``HERALD_PURGE_ROWS_PER_RUN`` rows, the oldest deletion first; the
rows left are the cursor (shared/store/purge.py), so a run that dies is simply resumed. A
purge ends, and the tombstone with it, with the first run that finds none of the hub's rows
left behind it *and* began at least the settling time after the delete: until then a request
that read the hub just before it was deleted (hubs are cached for ``CACHE_SECONDS``) or a
write it began (finished or given up within ``HERALD_PENDING_GRACE_SECONDS``) may still add
a row, which a later run must find.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.engine import Engine
from shared.store.hubs import CACHE_SECONDS, DeletedHub
from shared.store.purge import purge_hub_rows

log = logging.getLogger(__name__)


def settling_time(pending_grace_seconds: float) -> timedelta:
    """How long after a delete rows of the hub may still be written."""
    return timedelta(seconds=CACHE_SECONDS + pending_grace_seconds)


async def purge_deleted_hubs(engine: Engine, deleted: Sequence[DeletedHub], now: datetime) -> int:
    """Go on with the purges of ``deleted`` (oldest first); answer the rows deleted."""
    left = engine.settings.purge_rows_per_run
    settled_before = now - settling_time(engine.settings.pending_grace_seconds)
    total = 0
    for hub in sorted(deleted, key=lambda hub: hub.deleted_at):
        purged = await purge_hub_rows(engine.tables, hub.name, limit=left)
        left -= purged.rows
        total += purged.rows
        if purged.rows:
            await engine.hubs.add_purged(hub.name, purged.rows)
        so_far = hub.rows_purged + purged.rows
        if purged.done and hub.deleted_at <= settled_before:
            await engine.hubs.end_purge(hub.name)
            log.info("Hub %s: purge ended, %d rows deleted; the name is free", hub.name, so_far)
        elif purged.rows:
            log.info("Hub %s: purge goes on, %d rows deleted so far", hub.name, so_far)
        if left <= 0:
            break
    return total
