"""What apps report about a notification on a device: ``opened``, ``actioned``, ...

One partition per notification, ``{hub}~~events~{notification id}``, in the notifications
table: inside the hub's key range (so a hub's purge deletes it), and past its notification
partitions (``{hub}~{hex id}``), so neither reading a notification nor listing a hub's
notifications reads a row of it.

- ``mark~{kind}~{installation}``: the event happened; inserting it is what makes a report
  idempotent per (installation, notification, kind).
- ``count~{kind}~{nn}``: how many marks of that kind, kept in a few counter rows picked by the
  installation's hash, so a burst of opens after a broadcast does not queue on one row.

A mark and its count are written in one transaction (they share the partition), so an event
is counted exactly when it is marked: a report that fails part-way leaves nothing, and the
app's retry counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode

from shared.errors import StorageUnavailableError
from shared.store.keys import encode_key, shard_of
from shared.store.rows import TableRows
from shared.store.tables import NOTIFICATIONS, Tables

_COUNTERS = 8  # counter rows per kind
_ATTEMPTS = 20  # transactions tried before the counter is called busy
_COUNT = "count~"


def _partition(hub: str, notification_id: str) -> str:
    return f"{hub}~~events~{notification_id}"


class EventStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def record(self, hub: str, notification_id: str, installation_id: str, kind: str) -> bool:
        """Record the event; False when it was already recorded (nothing changes)."""
        table = await self._tables.get(NOTIFICATIONS)
        rows = await self._tables.rows(NOTIFICATIONS)  # reads: the lean REST path
        partition = _partition(hub, notification_id)
        mark = {"PartitionKey": partition, "RowKey": f"mark~{kind}~{encode_key(installation_id)}"}
        counter = f"{_COUNT}{kind}~{shard_of(installation_id, _COUNTERS):02d}"
        for _ in range(_ATTEMPTS):
            if await self._exists(rows, mark):
                return False
            count = await self._count_operation(rows, partition, counter)
            try:
                await table.submit_transaction([("create", mark), count])
            except TableTransactionError as exc:
                if exc.status_code not in (409, 412):
                    raise
                continue  # marked or counted by another report meanwhile: look again
            return True
        raise StorageUnavailableError("The notification's event counter is busy; try again.")

    @staticmethod
    async def _exists(rows: TableRows, row: Mapping[str, str]) -> bool:
        try:
            await rows.get(row["PartitionKey"], row["RowKey"], select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    @staticmethod
    async def _count_operation(
        rows: TableRows, partition: str, row_key: str
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The counter row's next value, written only if no other report counted first."""
        try:
            row = await rows.get(partition, row_key)
        except ResourceNotFoundError:
            return ("create", {"PartitionKey": partition, "RowKey": row_key, "Count": 1}, {})
        entity = {"PartitionKey": partition, "RowKey": row_key, "Count": row["Count"] + 1}
        condition: dict[str, Any] = {
            "mode": UpdateMode.REPLACE,
            "etag": row.etag,
            "match_condition": MatchConditions.IfNotModified,
        }
        return ("update", entity, condition)

    async def counts(self, hub: str, notification_id: str) -> dict[str, int]:
        """Events by kind, for the notification's telemetry (kinds never reported are absent)."""
        table = await self._tables.get(NOTIFICATIONS)
        rows = table.query_entities(
            "PartitionKey eq @pk and RowKey gt @low and RowKey lt @high",
            parameters={
                "pk": _partition(hub, notification_id),
                "low": _COUNT,
                "high": _COUNT + "\x7f",
            },
        )
        counts: dict[str, int] = {}
        async for row in rows:
            kind = str(row["RowKey"])[len(_COUNT) :].rsplit("~", 1)[0]
            counts[kind] = counts.get(kind, 0) + int(row["Count"])
        return counts
