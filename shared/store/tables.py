"""Herald's tables, created on first use in each process; and deleting rows in batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from azure.core.pipeline import AsyncPipeline
from azure.core.pipeline.transport import AsyncHttpResponse, HttpRequest
from azure.data.tables import TableTransactionError
from azure.data.tables.aio import TableClient, TableServiceClient

from shared.store.rows import TableRows, lean_pipeline

HUBS = "hubs"
INSTALLATIONS = "installations"
TAG_INDEX = "tagindex"
NOTIFICATIONS = "notifications"
FEEDBACK = "feedback"
SCHEDULED = "scheduled"
METRICS = "metrics"
JOBS = "jobs"

ALL_TABLES = (HUBS, INSTALLATIONS, TAG_INDEX, NOTIFICATIONS, FEEDBACK, SCHEDULED, METRICS, JOBS)

TRANSACTION_LIMIT = 100  # rows per table transaction, all in one partition
_DELETES_IN_FLIGHT = 4  # delete transactions sent at once


class Tables:
    """Table clients by name; each table is created once per process if it is missing."""

    def __init__(self, service: TableServiceClient) -> None:
        self._service = service
        self._clients: dict[str, TableClient] = {}
        self._rows: dict[str, TableRows] = {}
        self._pipeline: AsyncPipeline[HttpRequest, AsyncHttpResponse] | None = None

    async def get(self, name: str) -> TableClient:
        client = self._clients.get(name)
        if client is None:
            await self._service.create_table_if_not_exists(name)
            client = self._clients[name] = self._service.get_table_client(name)
        return client

    async def rows(self, name: str) -> TableRows:
        """The table's rows as plain REST requests, for the hot paths (shared.store.rows)."""
        rows = self._rows.get(name)
        if rows is None:
            if self._pipeline is None:
                self._pipeline = lean_pipeline(self._service)
            rows = self._rows[name] = TableRows(self._pipeline, await self.get(name))
        return rows


async def delete_rows(table: TableClient, keys: Iterable[tuple[str, str]]) -> None:
    """Delete rows by (PartitionKey, RowKey): transactions of up to 100 rows of one partition,
    a few at once. A row already gone is no error, so runs that overlap are harmless."""
    by_partition: dict[str, list[str]] = {}
    for partition, row_key in sorted(set(keys)):
        by_partition.setdefault(partition, []).append(row_key)
    chunks = [
        (partition, row_keys[start : start + TRANSACTION_LIMIT])
        for partition, row_keys in by_partition.items()
        for start in range(0, len(row_keys), TRANSACTION_LIMIT)
    ]
    slots = asyncio.Semaphore(_DELETES_IN_FLIGHT)

    async def delete(partition: str, chunk: Sequence[str]) -> None:
        async with slots:
            await _delete_chunk(table, partition, chunk)

    await asyncio.gather(*(delete(partition, chunk) for partition, chunk in chunks))


async def _delete_chunk(table: TableClient, partition: str, keys: Sequence[str]) -> None:
    """One transaction; if a row is already gone (it fails the whole transaction), one by one."""
    rows = [{"PartitionKey": partition, "RowKey": key} for key in keys]
    try:
        await table.submit_transaction([("delete", row) for row in rows])
    except TableTransactionError:
        for key in keys:
            await table.delete_entity(partition, key)  # absent: no error
