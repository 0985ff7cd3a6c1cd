"""The feedback processor's timer run: keep the registry clean.

For now: finish registry writes whose writer died (rows still ``Pending`` after the grace
period), so a crashed PUT neither loses its device nor leaves stale tag-index rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from shared.engine import get_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HygieneReport:
    finished_writes: int


async def run_hygiene() -> HygieneReport:
    engine = get_engine()
    grace = timedelta(seconds=engine.settings.pending_grace_seconds)
    finished = 0
    async for key in engine.installations.finish_pending(older_than=grace):
        finished += 1
        log.info("Finished an interrupted write of %s/%s", key.hub, key.installation_id)
    report = HygieneReport(finished_writes=finished)
    log.info("Registry hygiene: %d interrupted writes finished", finished)
    return report
