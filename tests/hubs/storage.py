"""What storage holds of a hub, read the slow, sure way: every table, every row."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any

from shared.engine import Engine
from shared.store.tables import ALL_TABLES, HUBS

Row = tuple[str, str, str]  # table, PartitionKey, RowKey


def belongs_to(table: str, row: Mapping[str, Any], hub: str) -> bool:
    """Whether a row is the hub's: its key starts with the hub, or it names the hub."""
    partition, row_key = str(row["PartitionKey"]), str(row["RowKey"])
    if table == HUBS:
        return row_key == hub
    return partition.startswith(f"{hub}~") or partition == hub or row.get("Hub") == hub


async def _rows(engine: Engine) -> AsyncIterator[tuple[str, Mapping[str, Any]]]:
    for name in ALL_TABLES:
        table = await engine.tables.get(name)
        async for row in table.list_entities():
            yield name, row


def _key(table: str, row: Mapping[str, Any]) -> Row:
    return table, str(row["PartitionKey"]), str(row["RowKey"])


async def rows_of(engine: Engine, hub: str) -> set[Row]:
    return {_key(table, row) async for table, row in _rows(engine) if belongs_to(table, row, hub)}


async def rows_except(engine: Engine, hubs: Collection[str]) -> dict[Row, str]:
    """Every row that belongs to none of ``hubs``, with its ETag (which changes on a write)."""
    return {
        _key(table, row): str(row.metadata["etag"])  # type: ignore[attr-defined]
        async for table, row in _rows(engine)
        if not any(belongs_to(table, row, hub) for hub in hubs)
    }
