"""Reading the tag index and the installations in RowKey (installation id) order, page by page.

A send walks, per shard, the partitions of every tag its expression names (and, when the
expression can match a device with none of them, all installations) side by side; each read
here answers the rows after a given installation id, in order, and whether more follow.
"""

from __future__ import annotations

import binascii
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from azure.core.exceptions import ResourceNotFoundError

from shared.errors import StorageUnavailableError
from shared.store.keys import installation_partition, tag_partition, tag_partitions_range
from shared.store.rows import Row, TableRows, with_parameters
from shared.store.tables import INSTALLATIONS, TAG_INDEX, Tables

PAGE_SIZE = 1000
_MAX_EMPTY_PAGES = 20  # the service may answer an empty page with a continuation; follow it


class IndexEntry(NamedTuple):
    """One installation in a stream. A tuple: a page makes a thousand, and a frozen dataclass
    costs three times as much to build."""

    installation_id: str
    view: bytes
    scopes: tuple[str, ...]  # which scopes carry the tag: "" native, else template names


@dataclass(frozen=True)
class Page:
    entries: Sequence[IndexEntry]
    exhausted: bool  # no rows follow this page
    last_key: str | None = None  # the last RowKey read, kept or not (the walk resumes after it)


def _binary(value: Any) -> bytes:
    """A binary property as read without metadata (base64 text), or with it (bytes)."""
    return binascii.a2b_base64(value) if isinstance(value, str) else bytes(value)


@functools.lru_cache(maxsize=1024)
def _scopes(text: str) -> tuple[str, ...]:
    """A row's Scopes: a page repeats the same few texts a thousand times."""
    return tuple(json.loads(text))


def _entry(row: Mapping[str, Any], scopes: tuple[str, ...] | None = None) -> IndexEntry:
    found = _scopes(row["Scopes"]) if scopes is None else scopes
    return IndexEntry(str(row["RowKey"]), _binary(row["View"]), found)


async def key_page(
    table: TableRows,
    partition: str,
    after: str | None,
    top: int,
    select: list[str] | None,
    *,
    where: str = "",
    parameters: Mapping[str, Any] | None = None,
    metadata: bool = False,
) -> tuple[Sequence[Row], bool]:
    """Up to ``top`` rows of ``partition`` after the key ``after``, in key order, that also
    satisfy ``where`` (with its ``parameters``); and whether no rows follow. Without
    ``metadata`` binary properties come as base64 text and rows carry no ETag."""
    query = "PartitionKey eq @pk"
    arguments: dict[str, Any] = {"pk": partition, **(parameters or {})}
    if after is not None:
        query += " and RowKey gt @after"
        arguments["after"] = after
    if where:
        query += f" and ({where})"
    query = with_parameters(query, arguments)
    resume = None
    for _ in range(_MAX_EMPTY_PAGES + 1):
        rows, resume = await table.page(
            query, top=top, select=select, metadata=metadata, resume=resume
        )
        if rows or resume is None:
            return rows, resume is None
    raise StorageUnavailableError(f"{partition}: storage keeps answering empty pages")


def _last_key(rows: Sequence[Mapping[str, Any]]) -> str | None:
    return str(rows[-1]["RowKey"]) if rows else None


class IndexReader:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def tag_page(
        self, hub: str, tag: str, shard: int, after: str | None, top: int = PAGE_SIZE
    ) -> Page:
        table = await self._tables.rows(TAG_INDEX)
        rows, exhausted = await key_page(
            table, tag_partition(hub, tag, shard), after, top, ["RowKey", "View", "Scopes"]
        )
        return Page([_entry(row) for row in rows], exhausted, _last_key(rows))

    async def tag_everywhere(self, hub: str, tag: str, limit: int) -> Page | None:
        """Every index row of ``tag`` across all shards, in installation-id order, from one
        range query over its partitions; None when there are more than ``limit``."""
        table = await self._tables.rows(TAG_INDEX)
        low, high = tag_partitions_range(hub, tag)
        query = with_parameters(
            "PartitionKey ge @low and PartitionKey lt @high", {"low": low, "high": high}
        )
        rows: list[Row] = []
        resume: tuple[str, str] | None = None
        for _ in range(_MAX_EMPTY_PAGES + 1):
            page, resume = await table.page(
                query, top=limit + 1, select=["RowKey", "View", "Scopes"], resume=resume
            )
            rows += page
            if len(rows) > limit:
                return None
            if resume is None:
                entries = sorted((_entry(row) for row in rows), key=lambda e: e.installation_id)
                return Page(entries, True, entries[-1].installation_id if entries else None)
        return None  # the service splits the range too finely to tell: not small

    async def installation_page(
        self, hub: str, shard: int, after: str | None, top: int = PAGE_SIZE
    ) -> Page:
        """All live installations of a shard: the stream for sends that need every device."""
        table = await self._tables.rows(INSTALLATIONS)
        rows, exhausted = await key_page(
            table, installation_partition(hub, shard), after, top, ["RowKey", "View", "Deleted"]
        )
        entries = [
            _entry(row, ())
            for row in rows
            if not row.get("Deleted") and row.get("View") is not None
        ]
        return Page(entries, exhausted, _last_key(rows))

    async def installation_entry(self, hub: str, shard: int, installation_id: str) -> Page:
        """One installation as a one-row stream (``$InstallationId:{id}`` has no index rows)."""
        table = await self._tables.rows(INSTALLATIONS)
        try:
            row = await table.get(
                installation_partition(hub, shard), installation_id, select=["View", "Deleted"]
            )
        except ResourceNotFoundError:
            return Page((), True)
        if row.get("Deleted") or row.get("View") is None:
            return Page((), True)
        entry = IndexEntry(installation_id, bytes(row["View"]), ("",))
        return Page((entry,), True, installation_id)
