"""Delete feedback history older than ``HERALD_FEEDBACK_HISTORY_DAYS``.

History is kept by whole UTC days: the rows reported before midnight (UTC) that many days ago
go, so a day's rows go together and a ``feedbackcontainer`` day blob is never half there. A
row lives between that many days and one day more. History RowKeys begin with the report
time, so each hub's platform partition gives up its old rows by a key range.

One pass over every hub's partitions a day is enough, since the cutoff moves a day at a time.
A run deletes at most ``feedback_reports_per_run`` rows (as many as it may add by applying
reports); the cursor row ``~cursor/retention`` keeps the day's cutoff and the partition to go
on from, so a backlog (the first pass after an upgrade) is cleared over several runs, and the
other runs of the day cost one read. Two runs at once delete the same rows, which is harmless.
History of a hub that was deleted is not reached: only existing hubs are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shared.engine import Engine
from shared.feedback.registry import Tally
from shared.model.channels import InstallationPlatform
from shared.store.feedback import history_partition
from shared.store.hygiene import HygieneStore

HISTORY_DELETED = "historyDeleted"
_SWEEP = "retention"
_DAY = "%Y%m%d"


def history_cutoff(now: datetime, days: int) -> datetime:
    """Midnight (UTC) ``days`` days before ``now``: history reported before it is deleted."""
    day = (now.astimezone(UTC) - timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def first_kept_day(now: datetime, days: int) -> str:
    """The oldest UTC day (``YYYYMMDD``) whose history is kept."""
    return history_cutoff(now, days).strftime(_DAY)


async def _partitions(engine: Engine) -> Sequence[tuple[str, str]]:
    """Every existing hub's history partitions, with the hub, in partition order."""
    platforms = [platform.value for platform in InstallationPlatform]
    found = [
        (history_partition(hub.name, platform), hub.name)
        async for hub in engine.hubs.list_hubs()
        for platform in platforms
    ]
    return sorted(found)


async def delete_old_history(engine: Engine, tally: Tally, now: datetime) -> None:
    """Go on with the day's pass: delete up to ``feedback_reports_per_run`` old history rows."""
    hygiene = HygieneStore(engine.tables)
    cutoff = history_cutoff(now, engine.settings.feedback_history_days)
    day = cutoff.strftime(_DAY)
    cursor = await hygiene.get_cursor(_SWEEP)
    start = ""
    if cursor is not None and cursor.get("cutoff") == day:
        if "resumeAt" not in cursor:
            return  # today's pass is done
        start = cursor["resumeAt"]
    left = engine.settings.feedback_reports_per_run
    for partition, hub in await _partitions(engine):
        if partition < start:
            continue
        deleted = await engine.feedback.delete_history_before(partition, cutoff, limit=left)
        if deleted:
            tally.add(hub, HISTORY_DELETED, deleted)
        left -= deleted
        if left <= 0:  # this partition may hold more: the next run starts with it
            await hygiene.set_cursor(_SWEEP, {"cutoff": day, "resumeAt": partition})
            return
    await hygiene.set_cursor(_SWEEP, {"cutoff": day})
