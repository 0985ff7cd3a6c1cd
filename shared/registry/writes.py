"""Writing one device document on a caller's behalf: the loop both NH APIs share.

Read, change, check (device URLs against the allow-list, the caller's rights), save; a write
that loses a race with another writer reads again and applies its change again, up to a few
times, so concurrent writes all land. The installations API and the registrations API differ
only in the change they make and what they answer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from shared.engine import Engine
from shared.errors import ConflictError
from shared.hubs.model import Hub
from shared.metrics.devices import registry_change
from shared.model.channels import InstallationPlatform
from shared.model.device import Device
from shared.model.installation import Installation
from shared.model.registration import Registration
from shared.pns.base import Platform
from shared.pns.urls import check_device_url
from shared.registry import access
from shared.store.installations import InstallationKey, LostRace, SaveResult, StoredInstallation

WRITE_ATTEMPTS = 12
_URL_PLATFORMS = {
    InstallationPlatform.WNS: Platform.WNS,
    InstallationPlatform.BROWSER: Platform.BROWSER,
}

D = TypeVar("D", Installation, Registration)
# The new document, given the row as read (None: there is none).
Change = Callable[[StoredInstallation | None], D]
# Called with the row as read before it is deleted; raises to refuse.
Precondition = Callable[[StoredInstallation], None]


@dataclass(frozen=True)
class Written(Generic[D]):
    document: D  # as stored (an unchanged write stored nothing: then as it was, but stamped)
    version: int  # the row's version now: NH's ETag
    result: SaveResult


def check_channels(engine: Engine, device: Device) -> None:
    platform = _URL_PLATFORMS.get(device.platform)
    if platform is None:
        return
    for url in device.channel_urls:
        check_device_url(url, platform, allowed_test_hosts=engine.settings.pns_allowed_test_hosts)


async def _back_off(attempt: int) -> None:
    """Writers that keep colliding spread out, so each round one of them wins."""
    await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))


async def write_device(
    engine: Engine, hub: Hub, key: InstallationKey, caller: access.Caller, change: Change[D]
) -> Written[D]:
    """Read, change, check and save; on a lost race read again and redo the change."""
    store = engine.installations
    for attempt in range(WRITE_ATTEMPTS):
        stored = await store.read(key, max_tags=hub.max_tags)
        new = change(stored).stamped(datetime.now(UTC))
        check_channels(engine, new)
        access.check_write(caller, hub, None if stored is None else stored.document, new)
        try:
            result = await store.save(key, stored, new)
        except LostRace:
            await _back_off(attempt)
            continue
        previous = None if stored is None else stored.document
        operation = "create" if result is SaveResult.CREATED else "update"
        engine.metrics.record(hub.name, registry_change(operation, previous, new))
        before = 0 if stored is None else stored.version
        return Written(new, before if result is SaveResult.UNCHANGED else before + 1, result)
    raise ConflictError("It kept changing under this write; try again.")


async def delete_device(
    engine: Engine,
    hub: Hub,
    key: InstallationKey,
    caller: access.Caller,
    precondition: Precondition | None = None,
) -> bool:
    """Delete the document; False when there was none. A lost race reads again."""
    store = engine.installations
    for attempt in range(WRITE_ATTEMPTS):
        stored = await store.read(key, max_tags=hub.max_tags)
        if stored is None:
            return False
        if stored.document is not None:
            if precondition is not None:
                precondition(stored)
            access.check_delete(caller, hub, stored.document)
        try:
            await store.delete(key, stored)
        except LostRace:
            await _back_off(attempt)
            continue
        engine.metrics.record(hub.name, registry_change("delete", stored.document, None))
        return True
    raise ConflictError("It kept changing under this delete; try again.")
