"""The feedback processor's timer run: keep the registry clean.

For now: finish registry writes whose writer died (rows still ``Pending`` after the grace
period), so a crashed PUT neither loses its device nor leaves stale tag-index rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.engine import Engine, get_engine
from shared.errors import NotFoundError
from shared.messages import QUEUE_DELAY_LIMIT, schedule_plan
from shared.store.notifications import NotificationState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HygieneReport:
    finished_writes: int
    released_schedules: int


async def run_hygiene() -> HygieneReport:
    engine = get_engine()
    grace = timedelta(seconds=engine.settings.pending_grace_seconds)
    finished = 0
    async for key in engine.installations.finish_pending(older_than=grace):
        finished += 1
        log.info("Finished an interrupted write of %s/%s", key.hub, key.installation_id)
    released = await _release_due_schedules(engine)
    report = HygieneReport(finished_writes=finished, released_schedules=released)
    log.info(
        "Registry hygiene: %d interrupted writes finished, %d scheduled sends released",
        finished,
        released,
    )
    return report


async def _release_due_schedules(engine: Engine) -> int:
    """Scheduled sends that came within a queue message's reach: enqueue them, delayed."""
    now = datetime.now(UTC)
    released = 0
    for parked in await engine.schedules.due_before(now + QUEUE_DELAY_LIMIT):
        try:
            meta = await engine.notifications.get_meta(parked.hub, parked.notification_id)
        except NotFoundError:
            meta = None
        if meta is not None and meta.state is NotificationState.SCHEDULED:
            await schedule_plan(engine, meta, now)
        await engine.schedules.release(parked)
        released += 1
    return released
