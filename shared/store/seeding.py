"""Bulk load: many installations written as the registry would store them, 100 rows per
table transaction. For imports into an empty hub, benchmarks and large tests; a live hub's
devices go through the API, whose writes are intent-first."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.model.device import Device
from shared.registry.view import EncodedView, index_of
from shared.store.installations import InstallationKey, index_row, installation_row
from shared.store.tables import INSTALLATIONS, TAG_INDEX, Tables

_TRANSACTION_LIMIT = 100
_PARALLEL_TRANSACTIONS = 8


async def _write(table: TableClient, rows: Sequence[dict[str, Any]]) -> None:
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_partition[row["PartitionKey"]].append(row)
    chunks = [
        partition_rows[start : start + _TRANSACTION_LIMIT]
        for partition_rows in by_partition.values()
        for start in range(0, len(partition_rows), _TRANSACTION_LIMIT)
    ]
    slots = asyncio.Semaphore(_PARALLEL_TRANSACTIONS)

    async def submit(chunk: list[dict[str, Any]]) -> None:
        async with slots:
            await table.submit_transaction(
                [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in chunk]
            )

    await asyncio.gather(*(submit(chunk) for chunk in chunks))


async def seed_installations(
    tables: Tables, hub: str, shard_count: int, installations: Sequence[Device]
) -> None:
    """Write ``installations`` (or registrations) and their index rows; existing rows of the
    same ids are replaced, but index rows of tags they no longer have are not removed."""
    rows: list[dict[str, Any]] = []
    index_rows: list[dict[str, Any]] = []
    for installation in installations:
        key = InstallationKey.of(hub, installation.device_id, shard_count)
        view = EncodedView.of(installation)
        rows.append(installation_row(key, installation, 1, view))
        index_rows += [
            index_row(key, tag, scopes, view.data, 1)
            for tag, scopes in index_of(installation).items()
        ]
    await _write(await tables.get(INSTALLATIONS), rows)
    await _write(await tables.get(TAG_INDEX), index_rows)
