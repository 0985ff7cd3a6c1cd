"""The feedback processor's timer run: keep the registry clean.

Each run, bounded and resumable (a run that dies leaves the rest to the next):

1. delete feedback history older than ``HERALD_FEEDBACK_HISTORY_DAYS`` (first, so that what
   this run writes stays at least until the next);
2. finish registry writes whose writer died (rows still ``Pending`` after the grace period);
3. apply the push services' dead-handle reports: expire or replace the handles;
4. delete installations whose channel stayed expired past the optional grace period;
5. remove installations past their ``expirationTime``, with their tag-index rows;
6. release scheduled sends that came within a queue message's reach;
7. purge the rows of deleted hubs, and free each name once its purge ends;
8. once a day, delete hub metrics past their retention (shared.metrics.retention).

Steps 2 to 6 do nothing for a deleted hub: its reports, parked deletions and parked sends are
dropped, and its other rows are left to the purge.

The counts go to the log, per hub and in total, and into each hub's hygiene summary, which
``GET /{hub}/feedback`` answers beside the pruning history.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.engine import Engine, get_engine
from shared.errors import NotFoundError
from shared.feedback.expiry import delete_after_grace, remove_expired
from shared.feedback.registry import Tally
from shared.feedback.reports import apply_reports
from shared.feedback.retention import HISTORY_DELETED, delete_old_history
from shared.hubs.purge import purge_deleted_hubs
from shared.messages import QUEUE_DELAY_LIMIT, schedule_plan
from shared.metrics.retention import prune_metrics
from shared.store.feedback import Action
from shared.store.hygiene import HygieneStore
from shared.store.notifications import NotificationState

log = logging.getLogger(__name__)


WRITES_FINISHED = "writesFinished"


@dataclass(frozen=True)
class HygieneReport:
    finished_writes: int
    released_schedules: int
    expired_handles: int = 0
    replaced_handles: int = 0
    removed_installations: int = 0  # past their expirationTime
    deleted_installations: int = 0  # channel expired for longer than the grace period
    unmatched_reports: int = 0  # the handle had already left the registry
    deleted_history: int = 0  # feedback history rows past their retention
    purged_rows: int = 0  # rows of deleted hubs


async def run_hygiene() -> HygieneReport:
    engine = get_engine()
    now = datetime.now(UTC)
    tally = Tally()
    deleted = await engine.hubs.list_deleted()
    gone = frozenset(hub.name for hub in deleted)
    await delete_old_history(engine, tally, now)
    grace = timedelta(seconds=engine.settings.pending_grace_seconds)
    async for key in engine.installations.finish_pending(older_than=grace, skip_hubs=gone):
        tally.add(key.hub, WRITES_FINISHED)
        log.info("Finished an interrupted write of %s/%s", key.hub, key.installation_id)
    await apply_reports(engine, tally, now)
    await delete_after_grace(engine, tally, now)
    await remove_expired(engine, tally, now, skip_hubs=gone)
    released = await _release_due_schedules(engine, gone)
    purged = await purge_deleted_hubs(engine, deleted, now)
    await prune_metrics(engine, now)
    await engine.metrics.flush()  # what this run pruned, before the process may stop
    report = HygieneReport(
        finished_writes=tally.total(WRITES_FINISHED),
        released_schedules=released,
        expired_handles=tally.total(Action.EXPIRED),
        replaced_handles=tally.total(Action.REPLACED),
        removed_installations=tally.total(Action.REMOVED),
        deleted_installations=tally.total(Action.DELETED),
        unmatched_reports=tally.total(Action.UNMATCHED),
        deleted_history=tally.total(HISTORY_DELETED),
        purged_rows=purged,
    )
    await _summarise(engine, tally, now)
    log.info(
        "Registry hygiene: %d handles expired, %d handles replaced, %d expired installations "
        "removed, %d expired channels deleted, %d reports unmatched, %d interrupted writes "
        "finished, %d scheduled sends released, %d history rows past retention deleted, "
        "%d rows of deleted hubs purged",
        report.expired_handles,
        report.replaced_handles,
        report.removed_installations,
        report.deleted_installations,
        report.unmatched_reports,
        report.finished_writes,
        released,
        report.deleted_history,
        purged,
    )
    return report


async def _summarise(engine: Engine, tally: Tally, now: datetime) -> None:
    """Each hub the run touched: one log line, and its counts added to its summary."""
    hygiene = HygieneStore(engine.tables)
    for hub, counts in tally.by_hub().items():
        log.info("Registry hygiene of hub %s: %s", hub, json.dumps(counts, sort_keys=True))
        await hygiene.add_to_summary(hub, counts, tally.report_days.get(hub, set()), now)


async def _release_due_schedules(engine: Engine, gone: frozenset[str]) -> int:
    """Scheduled sends that came within a queue message's reach: enqueue them, delayed.
    Those of deleted hubs are dropped."""
    now = datetime.now(UTC)
    released = 0
    for parked in await engine.schedules.due_before(now + QUEUE_DELAY_LIMIT):
        if parked.hub in gone:
            await engine.schedules.release(parked)
            continue
        try:
            meta = await engine.notifications.get_meta(parked.hub, parked.notification_id)
        except NotFoundError:
            meta = None
        if meta is not None and meta.state is NotificationState.SCHEDULED:
            await schedule_plan(engine, meta, now)
        await engine.schedules.release(parked)
        released += 1
    return released
