"""Reading the registry back: pages of device documents for the listings and the feeds.

:class:`InstallationScanner` serves ``GET /{hub}/installations`` (and export), resuming by the
storage's continuation within a shard. :func:`device_page` serves NH's registration feeds: rows
after a key, optionally only those holding a handle (the ``Handle`` column) on some platforms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.data.tables.aio import TableClient

from shared.model.device import Device
from shared.store.index import key_page
from shared.store.installations import (
    InstallationKey,
    InstallationStore,
    StoredInstallation,
    stored_row,
)
from shared.store.keys import installation_partition, tag_partition
from shared.store.rows import Row
from shared.store.tables import INSTALLATIONS, TAG_INDEX, Tables


@dataclass(frozen=True)
class ScanPosition:
    """Where a listing resumes: a shard and the storage continuation within it."""

    shard: int = 0
    continuation: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ScanFilter:
    platform: str | None = None
    user_id: str | None = None
    updated_since: datetime | None = None
    tag: str | None = None


async def _first_page(
    table: TableClient,
    query: str,
    parameters: Mapping[str, Any],
    top: int,
    continuation: Mapping[str, str] | None,
    select: list[str] | None = None,
) -> tuple[list[Row], Mapping[str, str] | None]:
    pages = table.query_entities(
        query, parameters=dict(parameters), results_per_page=top, select=select
    ).by_page(continuation_token=continuation)  # type: ignore[arg-type]
    rows: list[Row] = []
    async for page in pages:
        rows = [Row(row, str(row.metadata["etag"])) async for row in page]
        break
    token = pages.continuation_token  # type: ignore[attr-defined]
    return rows, token


class InstallationScanner:
    """Pages through a hub's installations, shard by shard, with server-side filters."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def page(
        self,
        hub: str,
        shard_count: int,
        position: ScanPosition,
        filters: ScanFilter,
        *,
        top: int,
        max_tags: int,
    ) -> tuple[list[Device], ScanPosition | None]:
        """Up to ``top`` devices from ``position`` on, read across as many shards as it takes
        to fill the page; and where the next page starts (None: nothing is left)."""
        shard, continuation = position.shard, position.continuation
        found: list[Device] = []
        while shard < shard_count and len(found) < top:
            wanted = top - len(found)
            if filters.tag is not None:
                more, continuation = await self._tag_page(
                    hub, shard, filters.tag, wanted, continuation, max_tags
                )
            else:
                more, continuation = await self._row_page(
                    hub, shard, filters, wanted, continuation, max_tags
                )
            found += more
            if continuation is None:
                shard += 1
        if shard >= shard_count:
            return found, None
        return found, ScanPosition(shard, continuation)

    async def _row_page(
        self,
        hub: str,
        shard: int,
        filters: ScanFilter,
        top: int,
        continuation: Mapping[str, str] | None,
        max_tags: int,
    ) -> tuple[list[Device], Mapping[str, str] | None]:
        table = await self._tables.get(INSTALLATIONS)
        clauses = ["PartitionKey eq @pk", "Deleted eq @deleted"]
        parameters: dict[str, Any] = {"pk": installation_partition(hub, shard), "deleted": False}
        for column, name, value in (
            ("Platform", "platform", filters.platform),
            ("UserId", "user", filters.user_id),
        ):
            if value is not None:
                clauses.append(f"{column} eq @{name}")
                parameters[name] = value
        if filters.updated_since is not None:
            clauses.append("LastUpdate ge @since")
            parameters["since"] = filters.updated_since
        rows, token = await _first_page(table, " and ".join(clauses), parameters, top, continuation)
        key = InstallationKey(hub, shard, "")
        found = [stored_row(key, row, max_tags).document for row in rows]
        return [d for d in found if d is not None], token

    async def _tag_page(
        self,
        hub: str,
        shard: int,
        tag: str,
        top: int,
        continuation: Mapping[str, str] | None,
        max_tags: int,
    ) -> tuple[list[Device], Mapping[str, str] | None]:
        index = await self._tables.get(TAG_INDEX)
        parameters = {"pk": tag_partition(hub, tag, shard)}
        rows, token = await _first_page(
            index, "PartitionKey eq @pk", parameters, top, continuation, select=["RowKey"]
        )
        store = InstallationStore(self._tables)
        stored = await asyncio.gather(
            *(
                store.read(InstallationKey(hub, shard, str(r["RowKey"])), max_tags=max_tags)
                for r in rows
            )
        )
        return [s.document for s in stored if s is not None and s.document is not None], token


async def device_page(
    tables: Tables,
    hub: str,
    shard: int,
    after: str | None,
    top: int,
    *,
    handles: Collection[str] = (),
    platforms: Collection[str] | None = None,
    max_tags: int,
) -> tuple[list[StoredInstallation], bool, str | None]:
    """Live device rows of a shard after the key ``after``, in key order; with ``handles`` only
    those holding one of them, with ``platforms`` only those of one of them. Also answers
    whether the shard has no more such rows, and the last key read."""
    clauses = ["Deleted eq @deleted"]
    parameters: dict[str, Any] = {"deleted": False}
    for column, values in (("Handle", handles), ("Platform", platforms or ())):
        names = [f"{column.lower()}{n}" for n in range(len(values))]
        if names:
            clauses.append(" or ".join(f"{column} eq @{name}" for name in names))
            parameters.update(zip(names, values, strict=True))
    table = await tables.rows(INSTALLATIONS)
    rows, exhausted = await key_page(
        table,
        installation_partition(hub, shard),
        after,
        top,
        None,
        where=" and ".join(f"( {clause} )" for clause in clauses),
        parameters=parameters,
        metadata=True,  # documents are parsed from binary Doc, and keep their ETags
    )
    found = [
        stored_row(InstallationKey(hub, shard, str(row["RowKey"])), row, max_tags) for row in rows
    ]
    last = str(rows[-1]["RowKey"]) if rows else None
    return [s for s in found if s.document is not None], exhausted, last
