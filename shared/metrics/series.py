"""The counters a hub's metrics are made of, and their time buckets: pure, no storage.

A counter is a *series key* and a number. The key says what is counted, ``|``-separated:

=====================================  ==================================================
``n|{kind}|{format}``                  notifications received (kind: tag, broadcast, ...)
``d|{platform}|{outcome}``             deliveries (outcome: an OutcomeKind, or dropped)
``l|{platform}``, ``ls|…``, ``lx|…``   PNS calls timed: their count, summed ms, max ms
``r|{operation}``                      registry operations (create, update, delete, read)
``s|{platform}``                       registry size change (installations, registrations)
``p|{platform}``                       handles pruned (feedback and expiry)
``e|{status}``                         API errors by HTTP status
``o|{kind}``                           app-reported events (opened, actioned, ...)
=====================================  ==================================================

Every counter sums when counts merge, except ``lx|`` (a maximum). Buckets are a minute, an
hour or a day, named by their start in whole minutes since the epoch (UTC).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

DROPPED = "dropped"  # a delivery outcome besides OutcomeKind: the target was never sent
_MAXIMUM = "lx|"
_EVENT_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class Granularity(StrEnum):
    """A bucket's length; the value is the letter its stored rows carry."""

    MINUTE = "m"
    HOUR = "h"
    DAY = "d"

    @property
    def minutes(self) -> int:
        return _MINUTES[self]

    @property
    def iso(self) -> str:
        return _ISO[self]

    def start_of(self, minute: int) -> int:
        """The start of the bucket holding ``minute`` (minutes since the epoch)."""
        return minute - minute % self.minutes


_MINUTES = {Granularity.MINUTE: 1, Granularity.HOUR: 60, Granularity.DAY: 1440}
_ISO = {Granularity.MINUTE: "PT1M", Granularity.HOUR: "PT1H", Granularity.DAY: "P1D"}
BY_ISO = {g.iso: g for g in Granularity}


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def moment_of(minute: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)


def iso_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def notification_key(kind: str, format_name: str) -> str:
    return f"n|{kind}|{format_name}"


def delivery_key(platform: str, outcome: str) -> str:
    return f"d|{platform}|{outcome}"


def registry_key(operation: str) -> str:
    return f"r|{operation}"


def size_key(platform: str) -> str:
    return f"s|{platform}"


def pruned_key(platform: str) -> str:
    return f"p|{platform}"


def error_key(status: int) -> str:
    return f"e|{status}"


def event_key(kind: str) -> str:
    """An app-reported event; a kind that is not a short lower-case word counts as ``other``,
    so what an app sends cannot grow the stored rows without bound."""
    kind = kind.strip().lower()
    return f"o|{kind if _EVENT_KIND.fullmatch(kind) else 'other'}"


class Counts(dict[str, float]):
    """Series key -> number: one step's counts, or a bucket's."""

    def add(self, key: str, number: float = 1) -> None:
        self[key] = self.get(key, 0) + number

    def latency(self, platform: str, seconds: float) -> None:
        """One PNS call that took ``seconds``."""
        ms = seconds * 1000
        self.add(f"l|{platform}")
        self.add(f"ls|{platform}", ms)
        self.merge({f"lx|{platform}": ms})

    def merge(self, other: Mapping[str, float]) -> None:
        for key, number in other.items():
            if key.startswith(_MAXIMUM):
                self[key] = max(self.get(key, number), number)
            else:
                self[key] = self.get(key, 0) + number


def merged(parts: Iterable[Mapping[str, float]]) -> Counts:
    total = Counts()
    for part in parts:
        total.merge(part)
    return total


def _listed(counts: Mapping[str, float], prefix: str, *names: str) -> list[dict[str, Any]]:
    """``[{names[0]: …, names[1]: …, "count": n}]`` for the keys under ``prefix``, non-zero."""
    found = []
    for key, number in sorted(counts.items()):
        parts = key.split("|")
        if parts[0] != prefix or round(number) == 0 or len(parts) != len(names) + 1:
            continue
        entry: dict[str, Any] = dict(zip(names, parts[1:], strict=True))
        entry["count"] = round(number)
        found.append(entry)
    return found


def _latency(counts: Mapping[str, float]) -> list[dict[str, Any]]:
    found = []
    for key, calls in sorted(counts.items()):
        if not key.startswith("l|") or calls <= 0:
            continue
        platform = key[2:]
        total, peak = counts.get(f"ls|{platform}", 0.0), counts.get(f"lx|{platform}", 0.0)
        found.append(
            {
                "platform": platform,
                "count": round(calls),
                "meanMs": round(total / calls, 3),
                "maxMs": round(peak, 3),
            }
        )
    return found


def bucket_json(start: int, counts: Mapping[str, float]) -> dict[str, Any] | None:
    """One bucket of the metrics answer; None when it counted nothing."""
    body: dict[str, Any] = {
        "notifications": _listed(counts, "n", "kind", "format"),
        "deliveries": _listed(counts, "d", "platform", "outcome"),
        "pnsLatency": _latency(counts),
        "registry": _listed(counts, "r", "operation"),
        "pruned": _listed(counts, "p", "platform"),
        "apiErrors": [
            {"status": int(e["status"]), "count": e["count"]}
            for e in _listed(counts, "e", "status")
        ],
        "opens": _listed(counts, "o", "kind"),
    }
    if not any(body.values()):
        return None
    return {"start": iso_text(moment_of(start)), **body}


def registry_size(counts: Mapping[str, float]) -> list[dict[str, Any]]:
    """The size by platform from the summed ``s|`` changes (never below zero)."""
    return _listed({k: max(v, 0.0) for k, v in counts.items()}, "s", "platform")
