"""What apps report about a notification on a device: ``opened``, ``actioned``, ...

One partition per notification, ``{hub}~~events~{notification id}``, in the notifications
table: inside the hub's key range (so a hub's purge deletes it), and past its notification
partitions (``{hub}~{hex id}``), so neither reading a notification nor listing a hub's
notifications reads a row of it.

- ``mark~{kind}~{installation}``: the event happened; inserting it is what makes a report
  idempotent per (installation, notification, kind).
- ``count~{kind}~{nn}``: how many marks of that kind, kept in a few counter rows picked by the
  installation's hash, so a burst of opens after a broadcast does not queue on one row.

The mark is written before its count: a process that dies between the two leaves one event
uncounted, never one counted twice.
"""

from __future__ import annotations

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.errors import StorageUnavailableError
from shared.store.keys import encode_key, shard_of
from shared.store.tables import NOTIFICATIONS, Tables

_COUNTERS = 8  # counter rows per kind
_ATTEMPTS = 20  # increments tried before the counter is called busy
_COUNT = "count~"


def _partition(hub: str, notification_id: str) -> str:
    return f"{hub}~~events~{notification_id}"


class EventStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def record(self, hub: str, notification_id: str, installation_id: str, kind: str) -> bool:
        """Record the event; False when it was already recorded (nothing changes)."""
        table = await self._tables.get(NOTIFICATIONS)
        partition = _partition(hub, notification_id)
        mark = {"PartitionKey": partition, "RowKey": f"mark~{kind}~{encode_key(installation_id)}"}
        try:
            await table.create_entity(mark)
        except ResourceExistsError:
            return False
        counter = f"{_COUNT}{kind}~{shard_of(installation_id, _COUNTERS):02d}"
        await self._increment(partition, counter)
        return True

    async def _increment(self, partition: str, row_key: str) -> None:
        table = await self._tables.get(NOTIFICATIONS)
        for _ in range(_ATTEMPTS):
            try:
                entity = await table.get_entity(partition, row_key)
            except ResourceNotFoundError:
                try:
                    await table.create_entity(
                        {"PartitionKey": partition, "RowKey": row_key, "Count": 1}
                    )
                except ResourceExistsError:
                    continue  # another report created it first: increment theirs
                return
            try:
                await table.update_entity(
                    {"PartitionKey": partition, "RowKey": row_key, "Count": entity["Count"] + 1},
                    mode=UpdateMode.REPLACE,
                    etag=entity.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                continue  # another report counted meanwhile: count again from theirs
            return
        raise StorageUnavailableError("The notification's event counter is busy; try again.")

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
