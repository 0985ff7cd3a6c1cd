"""Change or remove one device (an installation or a registration) on the timer's behalf, as
any other writer would.

The timer goes through :class:`InstallationStore` like the HTTP API, so the tag index follows
(an expired channel reaches the index rows' view as ``expired``, and sends skip it). It decides
on the installation as it is *now*: a device that re-registered since the report is judged on
its new state. On a lost race it reads again and decides again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from shared.errors import ConflictError
from shared.model.device import Device
from shared.store.installations import InstallationKey, InstallationStore, LostRace

# Rows were valid when written; a hub whose tag limit was lowered since must still be cleaned.
ANY_TAG_COUNT = 1 << 30
_ATTEMPTS = 8


class Verdict(Enum):
    REMOVE = "remove"


# What to do with the device as stored: a new version, REMOVE, or None to leave it.
Decide = Callable[[Device], Device | Verdict | None]


async def rewrite(store: InstallationStore, key: InstallationKey, decide: Decide) -> Device | None:
    """Apply ``decide`` to the stored device; answer what it acted on, or None."""
    for _ in range(_ATTEMPTS):
        stored = await store.read(key, max_tags=ANY_TAG_COUNT)
        current = None if stored is None else stored.document
        if stored is None or current is None:
            return None
        decision = decide(current)
        if decision is None:
            return None
        try:
            if decision is Verdict.REMOVE:
                await store.delete(key, stored)
            else:
                await store.save(key, stored, decision)
        except LostRace:
            continue
        return current
    raise ConflictError(f"{key.hub}/{key.installation_id} kept changing; the next run retries.")


@dataclass
class Tally:
    """What one timer run did, per hub: the pruning actions and the writes it finished, and
    the days (UTC, ``YYYYMMDD``) of the push services' reports it applied."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    report_days: dict[str, set[str]] = field(default_factory=dict)

    def add(self, hub: str, what: str, count: int = 1) -> None:
        self.counts[(hub, what)] += count

    def add_report_day(self, hub: str, reported_at: datetime) -> None:
        self.report_days.setdefault(hub, set()).add(reported_at.astimezone(UTC).strftime("%Y%m%d"))

    def total(self, what: str) -> int:
        return sum(n for (_, name), n in self.counts.items() if name == what)

    def by_hub(self) -> dict[str, dict[str, int]]:
        hubs: dict[str, dict[str, int]] = {}
        for (hub, what), n in sorted(self.counts.items()):
            hubs.setdefault(hub, {})[what] = n
        return hubs
