"""The counts a change to the registry makes: its operation, and the registry size by platform."""

from __future__ import annotations

from shared.metrics.series import Counts, pruned_key, registry_key, size_key
from shared.model.device import Device
from shared.sending.formats import delivery_platform


def platform_of(installation_platform: str) -> str:
    """The delivering platform's name (``gcm`` is ``fcmv1``), as metrics name platforms."""
    platform = delivery_platform(installation_platform)
    return installation_platform if platform is None else platform.value


def registry_change(operation: str, before: Device | None, after: Device | None) -> Counts:
    """One registry ``operation`` that turned ``before`` into ``after`` (None: no device)."""
    counts = Counts({registry_key(operation): 1})
    old = None if before is None else platform_of(before.platform.value)
    new = None if after is None else platform_of(after.platform.value)
    if old != new:
        if old is not None:
            counts.add(size_key(old), -1)
        if new is not None:
            counts.add(size_key(new), 1)
    return counts


def pruned(installation_platform: str, *, removed: bool) -> Counts:
    """A handle the feedback processor pruned; ``removed``: its device went with it."""
    platform = platform_of(installation_platform)
    counts = Counts({pruned_key(platform): 1})
    if removed:
        counts.add(size_key(platform), -1)
    return counts
