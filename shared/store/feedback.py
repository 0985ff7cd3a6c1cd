"""Dead handles the push services reported, and what the feedback processor did about each.

The send path files each report in an *inbox* partition, ``~inbox~{n}`` (n: a hash of the hub
and installation, so one installation's reports stay in order in one partition, and a burst of
dead handles spreads over 16 partitions). The timer applies inbox rows oldest first, writes
the outcome as a *history* row, ``{hub}~{platform}`` / ``{report time}~{handle hash}``, and
deletes the inbox row: the inbox is its own cursor, so a run that dies resumes where it
stopped, and applying a report twice changes nothing. History rows are what
``GET /{hub}/feedback`` pages through. Hub names never hold ``~``, so inbox partitions and a
hub's ``{hub}~`` range never meet. History past its retention is deleted by a key range:
RowKeys begin with the report time, so a partition's old rows are its first ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import groupby
from typing import Any

from azure.data.tables import UpdateMode

from shared.model.registration import id_field
from shared.store.tables import FEEDBACK, TRANSACTION_LIMIT, Tables, delete_rows

_PAGE = 1000
_STAMP = "%Y%m%dT%H%M%S%f"  # RowKeys start with this, so key order is time order
INBOX_SHARDS = 16
INBOX_PREFIX = "~inbox~"  # + n: partitions shared by every hub


@dataclass(frozen=True)
class DeadHandle:
    platform: str
    handle: str
    installation_id: str
    outcome: str  # expired_handle or invalid_handle
    reason: str  # the PNS's own words
    notification_id: str
    reported_at: datetime
    new_handle: str | None = None  # a replacement the PNS issued (ADM)


class Action(StrEnum):
    """What the feedback processor did with a report, or why it pruned an installation."""

    EXPIRED = "expired"  # the installation was marked pushChannelExpired
    REPLACED = "replaced"  # the installation's handle became the PNS's new one
    UNMATCHED = "unmatched"  # no installation holds the handle any more: nothing to do
    REMOVED = "removed"  # the installation's expirationTime passed: deleted with its tags
    # Its channel stayed expired past the grace period, or (a registration, as NH does) the
    # push service called its handle dead: deleted with its tags.
    DELETED = "deleted"


@dataclass(frozen=True)
class Report:
    """One inbox row: a dead handle waiting to be applied."""

    hub: str
    dead: DeadHandle
    partition: str
    row_key: str


@dataclass(frozen=True)
class FeedbackEntry:
    """One history row: a report and what was done, or a pruning the timer did on its own."""

    platform: str
    handle: str
    installation_id: str
    action: Action
    outcome: str
    reason: str
    reported_at: datetime
    applied_at: datetime
    notification_id: str = ""
    new_handle: str | None = None

    @classmethod
    def of(cls, dead: DeadHandle, action: Action, applied_at: datetime) -> FeedbackEntry:
        return cls(
            platform=dead.platform,
            handle=dead.handle,
            installation_id=dead.installation_id,
            action=action,
            outcome=dead.outcome,
            reason=dead.reason,
            reported_at=dead.reported_at,
            applied_at=applied_at,
            notification_id=dead.notification_id,
            new_handle=dead.new_handle,
        )

    def to_json(self) -> dict[str, Any]:
        name, shown = id_field(self.installation_id)
        body: dict[str, Any] = {
            "platform": self.platform,
            "handle": self.handle,
            name: shown,
            "action": self.action.value,
            "outcome": self.outcome,
            "reason": self.reason,
            "reportedAt": _iso(self.reported_at),
            "appliedAt": _iso(self.applied_at),
        }
        if self.notification_id:
            body["notificationId"] = self.notification_id
        if self.new_handle is not None:
            body["newHandle"] = self.new_handle
        return body


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _digest(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()[:16]


def _inbox_partition(hub: str, dead: DeadHandle) -> str:
    owner = dead.installation_id or dead.handle
    digest = hashlib.sha256(f"{hub}\n{owner}".encode()).digest()
    return f"{INBOX_PREFIX}{int.from_bytes(digest[:4], 'big') % INBOX_SHARDS}"


def _fields(dead: DeadHandle) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Platform": dead.platform,
        "Handle": dead.handle,
        "InstallationId": dead.installation_id,
        "Outcome": dead.outcome,
        "Reason": dead.reason,
        "NotificationId": dead.notification_id,
        "ReportedAt": dead.reported_at,
    }
    if dead.new_handle is not None:
        fields["NewHandle"] = dead.new_handle
    return fields


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


def history_partition(hub: str, platform: str) -> str:
    return f"{hub}~{platform}"


def _inbox_entity(hub: str, dead: DeadHandle) -> dict[str, Any]:
    stamp = _stamp(dead.reported_at)
    return {
        "PartitionKey": _inbox_partition(hub, dead),
        "RowKey": f"{stamp}~{hub}~{dead.platform}~{_digest(dead.handle)}",
        "Hub": hub,
        **_fields(dead),
    }


def _dead(row: Mapping[str, Any]) -> DeadHandle:
    return DeadHandle(
        platform=str(row["Platform"]),
        handle=str(row["Handle"]),
        installation_id=str(row.get("InstallationId", "")),
        outcome=str(row.get("Outcome", "")),
        reason=str(row.get("Reason", "")),
        notification_id=str(row.get("NotificationId", "")),
        reported_at=row["ReportedAt"],
        new_handle=row.get("NewHandle"),
    )


def _history_entity(hub: str, entry: FeedbackEntry) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": history_partition(hub, entry.platform),
        "RowKey": f"{_stamp(entry.reported_at)}~{_digest(entry.handle)}",
        "Platform": entry.platform,
        "Handle": entry.handle,
        "InstallationId": entry.installation_id,
        "Action": entry.action.value,
        "Outcome": entry.outcome,
        "Reason": entry.reason,
        "NotificationId": entry.notification_id,
        "ReportedAt": entry.reported_at,
        "AppliedAt": entry.applied_at,
    }
    if entry.new_handle is not None:
        entity["NewHandle"] = entry.new_handle
    return entity


def _entry(row: Mapping[str, Any]) -> FeedbackEntry:
    return FeedbackEntry(
        platform=str(row["Platform"]),
        handle=str(row["Handle"]),
        installation_id=str(row.get("InstallationId", "")),
        action=Action(str(row["Action"])),
        outcome=str(row.get("Outcome", "")),
        reason=str(row.get("Reason", "")),
        reported_at=row["ReportedAt"],
        applied_at=row["AppliedAt"],
        notification_id=str(row.get("NotificationId", "")),
        new_handle=row.get("NewHandle"),
    )


Continuation = Mapping[str, str]


class FeedbackStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def record(self, hub: str, dead_handles: Sequence[DeadHandle]) -> None:
        """File the reports in the inbox, in transactions of up to 100 per partition."""
        if not dead_handles:
            return
        table = await self._tables.get(FEEDBACK)
        entities = sorted(
            (_inbox_entity(hub, d) for d in dead_handles), key=lambda e: e["PartitionKey"]
        )
        for _, group in groupby(entities, key=lambda e: e["PartitionKey"]):
            unique = {e["RowKey"]: e for e in group}  # a RowKey may appear once per transaction
            rows = list(unique.values())
            for start in range(0, len(rows), TRANSACTION_LIMIT):
                chunk = rows[start : start + TRANSACTION_LIMIT]
                await table.submit_transaction(
                    [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in chunk]
                )

    async def inbox(self, shard: int, *, page_size: int) -> AsyncGenerator[list[Report]]:
        """One inbox partition, oldest first, a page at a time."""
        table = await self._tables.get(FEEDBACK)
        pages = table.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": f"{INBOX_PREFIX}{shard}"},
            results_per_page=page_size,
        ).by_page()
        async for page in pages:
            rows = [row async for row in page]
            yield [
                Report(str(r["Hub"]), _dead(r), str(r["PartitionKey"]), str(r["RowKey"]))
                for r in rows
            ]

    async def settle(self, report: Report, entry: FeedbackEntry) -> None:
        """Keep what was done in the hub's history, then take the report out of the inbox."""
        await self.add(report.hub, entry)
        await self.drop(report)

    async def drop(self, report: Report) -> None:
        """Take the report out of the inbox."""
        table = await self._tables.get(FEEDBACK)
        await table.delete_entity(report.partition, report.row_key)  # absent: no error

    async def add(self, hub: str, entry: FeedbackEntry) -> None:
        table = await self._tables.get(FEEDBACK)
        await table.upsert_entity(_history_entity(hub, entry), mode=UpdateMode.REPLACE)

    async def list_page(
        self,
        hub: str,
        *,
        platform: str | None,
        since: datetime | None,
        top: int,
        continuation: Continuation | None,
    ) -> tuple[list[FeedbackEntry], Continuation | None]:
        """A page of the hub's history: by platform, then by report time."""
        table = await self._tables.get(FEEDBACK)
        if platform is None:
            clauses = ["PartitionKey gt @low", "PartitionKey lt @high"]
            parameters: dict[str, Any] = {"low": f"{hub}~", "high": f"{hub}~~"}
        else:
            clauses = ["PartitionKey eq @pk"]
            parameters = {"pk": history_partition(hub, platform)}
        if since is not None:
            clauses.append("ReportedAt ge @since")
            parameters["since"] = since
        pages = table.query_entities(
            " and ".join(clauses), parameters=parameters, results_per_page=top
        ).by_page(continuation_token=continuation)  # type: ignore[arg-type]
        entries: list[FeedbackEntry] = []
        async for page in pages:
            entries = [_entry(row) async for row in page]
            if entries:  # a filtered query may answer empty pages that still go on
                break
        token: Continuation | None = pages.continuation_token  # type: ignore[attr-defined]
        return entries, token

    async def day_entries(
        self, hub: str, platforms: Sequence[str], day: datetime
    ) -> list[FeedbackEntry]:
        """The history of one UTC day, platform by platform (a key range in each partition)."""
        table = await self._tables.get(FEEDBACK)
        first = day.astimezone(UTC).strftime("%Y%m%d")
        after = (day + timedelta(days=1)).astimezone(UTC).strftime("%Y%m%d")
        entries: list[FeedbackEntry] = []
        for platform in platforms:
            rows = table.query_entities(
                "PartitionKey eq @pk and RowKey ge @first and RowKey lt @after",
                parameters={"pk": history_partition(hub, platform), "first": first, "after": after},
            )
            entries += [_entry(row) async for row in rows]
        return entries

    async def delete_history_before(self, partition: str, before: datetime, *, limit: int) -> int:
        """Delete up to ``limit`` of a history partition's rows reported before ``before``,
        oldest first, in transactions of up to 100; answer how many. Rows another run deleted
        meanwhile count too: deleting is idempotent."""
        table = await self._tables.get(FEEDBACK)
        rows = table.query_entities(
            "PartitionKey eq @pk and RowKey lt @before",
            parameters={"pk": partition, "before": _stamp(before)},
            select=["RowKey"],
            results_per_page=min(limit, _PAGE),
        )
        keys: list[tuple[str, str]] = []
        async for row in rows:
            keys.append((partition, str(row["RowKey"])))
            if len(keys) >= limit:
                break
        await delete_rows(table, keys)
        return len(keys)
