"""Every row a deleted hub left in storage, found and deleted a bounded number at a time.

Most of a hub's rows are in its own partitions, which all begin with ``{hub}~``: a key range
(:func:`hub_range`) in the installations, tag-index, notifications, feedback, metrics and jobs
tables. The rest sit in partitions every hub shares, found by their ``Hub`` column: reports
waiting in the feedback inbox, deletions parked until their grace period ends, and sends
parked in the ``scheduled`` partition; plus the hub's hygiene summary, the feedback row
``{hub}/hygiene``.

Installations go first: an installation row is what could bring tag rows back (a write of it
being finished). Nothing marks where a purge stopped: the rows left are its cursor, so each
run starts again from the first place, a run killed midway leaves nothing to repair, and two
runs at once delete the same rows harmlessly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.store.feedback import INBOX_PREFIX
from shared.store.hygiene import DUE_PARTITION, SUMMARY_ROW
from shared.store.keys import hub_range
from shared.store.notifications import SCHEDULED_PARTITION
from shared.store.tables import (
    FEEDBACK,
    INSTALLATIONS,
    JOBS,
    METRICS,
    NOTIFICATIONS,
    SCHEDULED,
    TAG_INDEX,
    Tables,
    delete_rows,
)

_PAGE = 1000
_KEY_RANGE = "PartitionKey ge @low and PartitionKey lt @high"
_SHARED = "PartitionKey eq @pk and Hub eq @hub"


@dataclass(frozen=True)
class _Rows:
    """One query that finds rows of the hub (and of no other hub)."""

    table: str
    query: str
    parameters: Mapping[str, str]


def _places(hub: str) -> tuple[_Rows, ...]:
    low, high = hub_range(hub)
    own = {"low": low, "high": high}
    inbox = {"low": INBOX_PREFIX, "high": INBOX_PREFIX + "\x7f", "hub": hub}
    return (
        _Rows(INSTALLATIONS, _KEY_RANGE, own),
        _Rows(TAG_INDEX, _KEY_RANGE, own),
        _Rows(NOTIFICATIONS, _KEY_RANGE, own),
        _Rows(SCHEDULED, _SHARED, {"pk": SCHEDULED_PARTITION, "hub": hub}),
        _Rows(FEEDBACK, _KEY_RANGE, own),
        _Rows(FEEDBACK, f"{_KEY_RANGE} and Hub eq @hub", inbox),
        _Rows(FEEDBACK, _SHARED, {"pk": DUE_PARTITION, "hub": hub}),
        _Rows(FEEDBACK, "PartitionKey eq @pk and RowKey eq @rk", {"pk": hub, "rk": SUMMARY_ROW}),
        _Rows(METRICS, _KEY_RANGE, own),
        _Rows(JOBS, _KEY_RANGE, own),
    )


@dataclass(frozen=True)
class Purged:
    rows: int  # rows deleted
    done: bool  # the pass reached the end: no row of the hub was left behind it


async def purge_hub_rows(tables: Tables, hub: str, *, limit: int) -> Purged:
    """Delete up to ``limit`` of the hub's rows, place by place in the order above."""
    deleted = 0
    for place in _places(hub):
        count, exhausted = await _delete_found(tables, place, limit - deleted)
        deleted += count
        if not exhausted:
            return Purged(deleted, done=False)
    return Purged(deleted, done=True)


async def _delete_found(tables: Tables, place: _Rows, limit: int) -> tuple[int, bool]:
    """Delete up to ``limit`` rows the query finds, a page at a time; answer how many, and
    whether the query has no more."""
    if limit <= 0:
        return 0, False
    table = await tables.get(place.table)
    pages = table.query_entities(
        place.query,
        parameters=dict(place.parameters),
        select=["PartitionKey", "RowKey"],
        results_per_page=min(limit, _PAGE),
    ).by_page()
    deleted = 0
    async for page in pages:
        keys = [(str(row["PartitionKey"]), str(row["RowKey"])) async for row in page]
        taken = keys[: limit - deleted]
        await delete_rows(table, taken)
        deleted += len(taken)
        if deleted >= limit:
            token = pages.continuation_token  # type: ignore[attr-defined]
            return deleted, len(taken) == len(keys) and token is None
    return deleted, True
