"""Remove devices that have outlived themselves, with their tag-index rows.

Two kinds: installations and registrations past their own ``expirationTime`` (found by a
bounded, resumable sweep of the installations table), and, when
``HERALD_EXPIRED_CHANNEL_DELETE_SECONDS`` is set, installations whose channel was marked
expired that long ago and never came back. Each removal is kept in the
hub's feedback history, so ``GET /{hub}/feedback`` shows what went, when and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Container
from datetime import datetime

from shared.engine import Engine
from shared.errors import HeraldError, NotFoundError
from shared.feedback.registry import Tally, Verdict, rewrite
from shared.metrics.devices import pruned
from shared.model.device import Device
from shared.model.installation import Installation
from shared.model.validation import format_datetime
from shared.store.feedback import Action, FeedbackEntry
from shared.store.hygiene import DueDeletion, HygieneStore
from shared.store.installations import InstallationKey

log = logging.getLogger(__name__)

_SWEEP = "expiry"
_PAGE = 1000
_CONCURRENCY = 16


def _entry(removed: Device, action: Action, reason: str, now: datetime) -> FeedbackEntry:
    return FeedbackEntry(
        platform=removed.platform.value,
        handle=removed.handle,
        installation_id=removed.device_id,
        action=action,
        outcome="installation_expired" if action is Action.REMOVED else "channel_expired",
        reason=reason,
        reported_at=now,
        applied_at=now,
    )


async def _remove_if_expired(
    engine: Engine, key: InstallationKey, tally: Tally, now: datetime
) -> None:
    def decide(current: Device) -> Verdict | None:
        expiry = current.expiration_time
        return Verdict.REMOVE if expiry is not None and expiry <= now else None

    removed = await rewrite(engine.installations, key, decide)
    if removed is None or removed.expiration_time is None:
        return
    reason = f"expirationTime {format_datetime(removed.expiration_time)} passed"
    await engine.feedback.add(key.hub, _entry(removed, Action.REMOVED, reason, now))
    engine.metrics.record(key.hub, pruned(removed.platform.value, removed=True))
    tally.add(key.hub, Action.REMOVED.value)


async def remove_expired(
    engine: Engine, tally: Tally, now: datetime, *, skip_hubs: Container[str] = frozenset()
) -> None:
    """Sweep up to ``expiry_pages_per_run`` pages, resuming where the last run stopped;
    installations of ``skip_hubs`` (deleted hubs) are left to their purge."""
    hygiene = HygieneStore(engine.tables)
    token = await hygiene.get_cursor(_SWEEP)
    slots = asyncio.Semaphore(_CONCURRENCY)

    async def one(key: InstallationKey) -> None:
        async with slots:
            try:
                await _remove_if_expired(engine, key, tally, now)
            except HeraldError as error:  # the next sweep finds it again
                log.warning("Hub %s: an expired installation stays for now: %s", key.hub, error)

    for _ in range(engine.settings.expiry_pages_per_run):
        keys, token = await hygiene.expired_installations(now, token, page_size=_PAGE)
        await asyncio.gather(*(one(key) for key in keys if key.hub not in skip_hubs))
        if token is None:
            break
    await hygiene.set_cursor(_SWEEP, token)


async def _delete_if_still_expired(
    engine: Engine, due: DueDeletion, tally: Tally, now: datetime
) -> None:
    try:
        hub = await engine.hubs.get_hub(due.hub)
    except NotFoundError:
        return
    key = InstallationKey.of(hub.name, due.installation_id, hub.shard_count)

    def decide(current: Device) -> Verdict | None:
        if not isinstance(current, Installation):
            return None
        same = current.handle == due.handle and current.platform.value == due.platform
        return Verdict.REMOVE if same and current.push_channel_expired else None

    removed = await rewrite(engine.installations, key, decide)
    if removed is None:
        return
    grace = engine.settings.expired_channel_delete_seconds or 0.0
    reason = f"pushChannelExpired for longer than {grace:g} s"
    await engine.feedback.add(hub.name, _entry(removed, Action.DELETED, reason, now))
    engine.metrics.record(hub.name, pruned(removed.platform.value, removed=True))
    tally.add(hub.name, Action.DELETED.value)


async def delete_after_grace(engine: Engine, tally: Tally, now: datetime) -> None:
    """Delete installations whose channel stayed expired through the grace period."""
    if engine.settings.expired_channel_delete_seconds is None:
        return  # switched off: what is parked waits until it is switched on again
    hygiene = HygieneStore(engine.tables)
    due = await hygiene.due_deletions(now, limit=engine.settings.feedback_reports_per_run)
    for deletion in due:
        try:
            await _delete_if_still_expired(engine, deletion, tally, now)
        except HeraldError as error:
            log.warning("Hub %s: a deletion waits for the next run: %s", deletion.hub, error)
            continue
        await hygiene.drop_deletion(deletion)
