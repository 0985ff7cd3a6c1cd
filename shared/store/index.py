"""Reading the tag index and the installations in RowKey (installation id) order, page by page.

A send walks, per shard, the partitions of every tag its expression names (and, when the
expression can match a device with none of them, all installations) side by side; each read
here answers the rows after a given installation id, in order, and whether more follow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.errors import StorageUnavailableError
from shared.store.keys import installation_partition, tag_partition
from shared.store.tables import INSTALLATIONS, TAG_INDEX, Tables

PAGE_SIZE = 1000
_MAX_EMPTY_PAGES = 20  # the service may answer an empty page with a continuation; follow it


@dataclass(frozen=True)
class IndexEntry:
    installation_id: str
    view: bytes
    scopes: tuple[str, ...]  # which scopes carry the tag: "" native, else template names


@dataclass(frozen=True)
class Page:
    entries: Sequence[IndexEntry]
    exhausted: bool  # no rows follow this page
    last_key: str | None = None  # the last RowKey read, kept or not (the walk resumes after it)


async def key_page(
    table: TableClient,
    partition: str,
    after: str | None,
    top: int,
    select: list[str] | None,
    *,
    where: str = "",
    parameters: Mapping[str, Any] | None = None,
) -> tuple[Sequence[Mapping[str, Any]], bool]:
    """Up to ``top`` rows of ``partition`` after the key ``after``, in key order, that also
    satisfy ``where`` (with its ``parameters``); and whether no rows follow."""
    query = "PartitionKey eq @pk"
    arguments: dict[str, Any] = {"pk": partition, **(parameters or {})}
    if after is not None:
        query += " and RowKey gt @after"
        arguments["after"] = after
    if where:  # the SDK finds @names between spaces: keep them clear of parentheses
        query += f" and ( {where} )"
    pages = table.query_entities(
        query, parameters=arguments, results_per_page=top, select=select
    ).by_page()
    empty = 0
    async for page in pages:
        rows = [row async for row in page]
        token = pages.continuation_token  # type: ignore[attr-defined]
        if rows or token is None:
            return rows, token is None
        empty += 1
        if empty > _MAX_EMPTY_PAGES:
            raise StorageUnavailableError(f"{partition}: storage keeps answering empty pages")
    return [], True


def _last_key(rows: Sequence[Mapping[str, Any]]) -> str | None:
    return str(rows[-1]["RowKey"]) if rows else None


class IndexReader:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def tag_page(
        self, hub: str, tag: str, shard: int, after: str | None, top: int = PAGE_SIZE
    ) -> Page:
        table = await self._tables.get(TAG_INDEX)
        rows, exhausted = await key_page(
            table, tag_partition(hub, tag, shard), after, top, ["RowKey", "View", "Scopes"]
        )
        entries = [
            IndexEntry(str(r["RowKey"]), bytes(r["View"]), tuple(json.loads(r["Scopes"])))
            for r in rows
        ]
        return Page(entries, exhausted, _last_key(rows))

    async def installation_page(
        self, hub: str, shard: int, after: str | None, top: int = PAGE_SIZE
    ) -> Page:
        """All live installations of a shard: the stream for sends that need every device."""
        table = await self._tables.get(INSTALLATIONS)
        rows, exhausted = await key_page(
            table, installation_partition(hub, shard), after, top, ["RowKey", "View", "Deleted"]
        )
        entries = [
            IndexEntry(str(r["RowKey"]), bytes(r["View"]), ())
            for r in rows
            if not r.get("Deleted") and r.get("View") is not None
        ]
        return Page(entries, exhausted, _last_key(rows))

    async def installation_entry(self, hub: str, shard: int, installation_id: str) -> Page:
        """One installation as a one-row stream (``$InstallationId:{id}`` has no index rows)."""
        table = await self._tables.get(INSTALLATIONS)
        try:
            row = await table.get_entity(
                installation_partition(hub, shard), installation_id, select=["View", "Deleted"]
            )
        except ResourceNotFoundError:
            return Page((), True)
        if row.get("Deleted") or row.get("View") is None:
            return Page((), True)
        entry = IndexEntry(installation_id, bytes(row["View"]), ("",))
        return Page((entry,), True, installation_id)
