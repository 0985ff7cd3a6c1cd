"""The feedback processor's own state, and its sweep for installations past their expiry.

Kept in the feedback table beside the reports: deletions waiting out their grace period
(partition ``~due``, ordered by due time), where the expiry sweep stopped (``~cursor``), and
each hub's pruning counts (partition ``{hub}``, row ``hygiene``). Hub names never hold ``~``,
so none of these meets a hub's ``{hub}~…`` history partitions.

The expiry sweep filters the installations table on ``ExpiresAt``, which is not a key: the
service reads every row to answer it, a page (up to 1,000 rows matched, or its time budget) at
a time, so a full sweep costs about one request per 1,000 installations on Azure. The sweep is
bounded per run and resumes from its stored continuation on the next run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.store.installations import InstallationKey
from shared.store.keys import encode_key
from shared.store.tables import FEEDBACK, INSTALLATIONS, Tables

DUE_PARTITION = "~due"
_CURSORS = "~cursor"
SUMMARY_ROW = "hygiene"
_STAMP = "%Y%m%dT%H%M%S%f"
REPORT_DAYS_KEPT = 30

Continuation = Mapping[str, str]


@dataclass(frozen=True)
class DueDeletion:
    """An installation whose channel expired, to delete if it is still expired when due."""

    hub: str
    installation_id: str
    platform: str
    handle: str
    row_key: str = ""


@dataclass(frozen=True)
class HygieneSummary:
    """A hub's pruning counts: in total, and in the last run that touched the hub."""

    totals: Mapping[str, int] = field(default_factory=dict)
    last_run: Mapping[str, int] = field(default_factory=dict)
    last_run_at: datetime | None = None
    report_days: tuple[str, ...] = ()  # recent UTC days (YYYYMMDD) with reports applied

    def to_json(self) -> dict[str, Any]:
        at = self.last_run_at
        return {
            "totals": dict(self.totals),
            "lastRun": dict(self.last_run),
            "lastRunAt": None if at is None else at.astimezone(UTC).isoformat(),
        }


def _summary(row: Mapping[str, Any]) -> HygieneSummary:
    return HygieneSummary(
        totals=json.loads(str(row.get("Totals", "{}"))),
        last_run=json.loads(str(row.get("LastRun", "{}"))),
        last_run_at=row.get("LastRunAt"),
        report_days=tuple(json.loads(str(row.get("ReportDays", "[]")))),
    )


class HygieneStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def schedule_deletion(self, deletion: DueDeletion, due: datetime) -> None:
        table = await self._tables.get(FEEDBACK)
        stamp = due.astimezone(UTC).strftime(_STAMP)
        await table.upsert_entity(
            {
                "PartitionKey": DUE_PARTITION,
                "RowKey": f"{stamp}~{deletion.hub}~{encode_key(deletion.installation_id)}",
                "Hub": deletion.hub,
                "InstallationId": deletion.installation_id,
                "Platform": deletion.platform,
                "Handle": deletion.handle,
            },
            mode=UpdateMode.REPLACE,
        )

    async def due_deletions(self, now: datetime, *, limit: int) -> list[DueDeletion]:
        table = await self._tables.get(FEEDBACK)
        rows = table.query_entities(
            "PartitionKey eq @pk and RowKey lt @until",
            parameters={"pk": DUE_PARTITION, "until": now.astimezone(UTC).strftime(_STAMP) + "~~"},
            results_per_page=min(limit, 1000),
        )
        found: list[DueDeletion] = []
        async for row in rows:
            found.append(
                DueDeletion(
                    str(row["Hub"]),
                    str(row["InstallationId"]),
                    str(row["Platform"]),
                    str(row["Handle"]),
                    str(row["RowKey"]),
                )
            )
            if len(found) >= limit:
                break
        return found

    async def drop_deletion(self, deletion: DueDeletion) -> None:
        table = await self._tables.get(FEEDBACK)
        await table.delete_entity(DUE_PARTITION, deletion.row_key)  # absent: no error

    async def expired_installations(
        self, now: datetime, continuation: Continuation | None, *, page_size: int
    ) -> tuple[list[InstallationKey], Continuation | None]:
        """One page of the sweep for installations whose ``ExpiresAt`` has passed."""
        table = await self._tables.get(INSTALLATIONS)
        pages = table.query_entities(
            "ExpiresAt le @now",
            parameters={"now": now},
            select=["PartitionKey", "RowKey"],
            results_per_page=page_size,
        ).by_page(continuation_token=continuation)  # type: ignore[arg-type]
        keys: list[InstallationKey] = []
        async for page in pages:
            for row in [row async for row in page]:
                hub, _, shard = str(row["PartitionKey"]).rpartition("~")
                keys.append(InstallationKey(hub, int(shard), str(row["RowKey"])))
            break
        token: Continuation | None = pages.continuation_token  # type: ignore[attr-defined]
        return keys, token

    async def get_cursor(self, name: str) -> Continuation | None:
        table = await self._tables.get(FEEDBACK)
        try:
            row = await table.get_entity(_CURSORS, name)
        except ResourceNotFoundError:
            return None
        token: Continuation | None = json.loads(str(row.get("Token", "null")))
        return token

    async def set_cursor(self, name: str, token: Continuation | None) -> None:
        table = await self._tables.get(FEEDBACK)
        row = {"PartitionKey": _CURSORS, "RowKey": name, "Token": json.dumps(token)}
        await table.upsert_entity(row, mode=UpdateMode.REPLACE)

    async def get_summary(self, hub: str) -> HygieneSummary:
        table = await self._tables.get(FEEDBACK)
        try:
            row = await table.get_entity(hub, SUMMARY_ROW)
        except ResourceNotFoundError:
            return HygieneSummary()
        return _summary(row)

    async def add_to_summary(
        self, hub: str, counts: Mapping[str, int], report_days: Set[str], now: datetime
    ) -> None:
        """Add one run's counts to the hub's totals (only the timer writes these rows)."""
        summary = await self.get_summary(hub)
        days = sorted(set(summary.report_days) | report_days)[-REPORT_DAYS_KEPT:]
        totals = dict(summary.totals)
        for name, count in counts.items():
            totals[name] = totals.get(name, 0) + count
        table = await self._tables.get(FEEDBACK)
        row = {
            "PartitionKey": hub,
            "RowKey": SUMMARY_ROW,
            "Totals": json.dumps(totals, sort_keys=True),
            "LastRun": json.dumps(dict(counts), sort_keys=True),
            "LastRunAt": now,
            "ReportDays": json.dumps(days),
        }
        await table.upsert_entity(row, mode=UpdateMode.REPLACE)
