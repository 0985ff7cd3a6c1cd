"""Apply the dead-handle reports in the inbox to the registry.

For each report, the installation that *still* holds the reported handle on the same platform
is marked ``pushChannelExpired`` (as NH does), or, when the PNS issued a replacement (ADM),
given the new handle. A registration holding it is deleted, as NH deletes it, or given the
replacement. An installation that re-registered with another handle since the report,
or is gone, is left alone (``unmatched``). A report of a direct send names no installation and
is only kept in the history. A report for a hub that no longer exists is dropped, history
and all. Reports of one installation are applied in the order they came, different
installations concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime, timedelta
from math import ceil

from shared.engine import Engine
from shared.errors import BadRequestError, HeraldError, NotFoundError
from shared.feedback.registry import Decide, Tally, Verdict, rewrite
from shared.metrics.devices import pruned
from shared.model.channels import parse_push_channel
from shared.model.device import Device
from shared.model.registration import Registration
from shared.store.feedback import INBOX_SHARDS, Action, DeadHandle, FeedbackEntry, Report
from shared.store.hygiene import DueDeletion, HygieneStore
from shared.store.installations import InstallationKey

log = logging.getLogger(__name__)

_PAGE = 1000
_CONCURRENCY = 16


def _decider(dead: DeadHandle, now: datetime) -> Decide:
    """What a report does to the device as stored now."""

    def decide(current: Device) -> Device | Verdict | None:
        if current.handle != dead.handle or current.platform.value != dead.platform:
            return None  # re-registered with another handle since the report
        if dead.new_handle is None:
            if isinstance(current, Registration):
                return Verdict.REMOVE
            return replace(current, push_channel_expired=True, last_update=now)
        if not isinstance(current.push_channel, str):
            return None
        try:
            channel = parse_push_channel(current.platform, dead.new_handle)
        except BadRequestError:
            log.warning("The %s service issued a handle Herald cannot store", dead.platform)
            return None
        if isinstance(current, Registration):
            return replace(current, push_channel=channel, last_update=now)
        return replace(current, push_channel=channel, push_channel_expired=False, last_update=now)

    return decide


async def _apply(engine: Engine, report: Report, now: datetime) -> Action | None:
    """What was done with the report; None: its hub is gone, and the report with it."""
    dead = report.dead
    try:
        hub = await engine.hubs.get_hub(report.hub)
    except NotFoundError:
        return None
    if not dead.installation_id:
        return Action.UNMATCHED
    key = InstallationKey.of(hub.name, dead.installation_id, hub.shard_count)
    changed = await rewrite(engine.installations, key, _decider(dead, now))
    if changed is None:
        return Action.UNMATCHED
    if dead.new_handle is not None:
        return Action.REPLACED
    return Action.DELETED if isinstance(changed, Registration) else Action.EXPIRED


async def _apply_in_order(
    engine: Engine, reports: Sequence[Report], tally: Tally, now: datetime
) -> None:
    grace = engine.settings.expired_channel_delete_seconds
    for report in reports:
        try:
            action = await _apply(engine, report, now)
        except HeraldError as error:
            # Left in the inbox with the reports after it, so they keep their order.
            log.warning("Hub %s: a report waits for the next run: %s", report.hub, error)
            return
        if action is None:
            await engine.feedback.drop(report)
            continue
        dead = report.dead
        if action is Action.EXPIRED and grace is not None:  # parked before the report goes
            deletion = DueDeletion(report.hub, dead.installation_id, dead.platform, dead.handle)
            await HygieneStore(engine.tables).schedule_deletion(
                deletion, now + timedelta(seconds=grace)
            )
        await engine.feedback.settle(report, FeedbackEntry.of(dead, action, now))
        if action is not Action.UNMATCHED:
            removed = action is Action.DELETED
            engine.metrics.record(report.hub, pruned(dead.platform, removed=removed))
        tally.add(report.hub, action.value)
        tally.add_report_day(report.hub, dead.reported_at)


async def _apply_page(engine: Engine, page: Sequence[Report], tally: Tally, now: datetime) -> None:
    by_owner: dict[tuple[str, str], list[Report]] = {}
    for report in page:  # the page is in report order
        owner = report.dead.installation_id or report.dead.handle
        by_owner.setdefault((report.hub, owner), []).append(report)
    slots = asyncio.Semaphore(_CONCURRENCY)

    async def one(reports: list[Report]) -> None:
        async with slots:
            await _apply_in_order(engine, reports, tally, now)

    await asyncio.gather(*(one(reports) for reports in by_owner.values()))


async def apply_reports(engine: Engine, tally: Tally, now: datetime) -> None:
    """Apply up to ``feedback_reports_per_run`` inbox rows, shared fairly among the shards."""
    per_shard = ceil(engine.settings.feedback_reports_per_run / INBOX_SHARDS)
    for shard in range(INBOX_SHARDS):
        left = per_shard
        async with aclosing(engine.feedback.inbox(shard, page_size=min(left, _PAGE))) as pages:
            async for page in pages:
                taken = page[:left]
                await _apply_page(engine, taken, tally, now)
                left -= len(taken)
                if left <= 0:
                    break
