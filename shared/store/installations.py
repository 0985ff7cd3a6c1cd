"""Device documents (installations and registrations) and their tag index, written
intent-first so that no writer loses a device.

A change goes: (1) read the row and its ETag; (2) write the row, with its new version and the
list of index rows still to delete, marked ``Pending``; (3) upsert and delete the index rows;
(4) clear ``Pending`` with the ETag from (2). From (2) on the row is the truth. If (4) finds the
row changed, another writer committed meanwhile: this writer re-reads and re-applies the newest
row's index, then settles that row in turn, so concurrent writers converge on the last commit.
A writer that dies between (2) and (4) leaves ``Pending`` set with ``PendingSince``; the
feedback processor calls :meth:`InstallationStore.finish_pending` after a grace period.

Storage requests: a new installation with T index rows costs T + 3; an unchanged one, one read;
adding one tag, 4 (the other index rows keep the same delivery view).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from shared.errors import PayloadTooLargeError
from shared.model.device import Device, handle_key, parse_device
from shared.model.installation import Installation
from shared.model.registration import Registration
from shared.registry.view import EncodedView, Index, index_of
from shared.store.keys import installation_partition, shard_of, tag_partition
from shared.store.rows import Row, TableRows
from shared.store.tables import INSTALLATIONS, TAG_INDEX, Tables

MAX_PROPERTY_BYTES = 64 * 1024
_PARALLEL_INDEX_WRITES = 32
_SETTLE_ROUNDS = 8

# A test hook, called before each write with the step's name; a test raises from it to model
# the writer dying just there.
StepHook = Callable[[str], None]


class SaveResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class LostRace(Exception):
    """The row changed between read and write; the caller re-reads and tries again."""


@dataclass(frozen=True)
class InstallationKey:
    hub: str
    shard: int
    installation_id: str

    @classmethod
    def of(cls, hub: str, installation_id: str, shard_count: int) -> InstallationKey:
        return cls(hub, shard_of(installation_id, shard_count), installation_id)

    @property
    def partition(self) -> str:
        return installation_partition(self.hub, self.shard)


@dataclass(frozen=True)
class StoredInstallation:
    """A row of the installations table: an installation's, or a registration's."""

    key: InstallationKey
    document: Device | None  # None: a delete is under way
    entity: Mapping[str, Any]
    etag: str
    version: int
    content_hash: str
    view_digest: str
    index: Index
    pending_deletes: frozenset[str]
    pending: bool

    @property
    def installation(self) -> Installation | None:
        document = self.document
        return document if isinstance(document, Installation) else None

    @property
    def registration(self) -> Registration | None:
        document = self.document
        return document if isinstance(document, Registration) else None


def _json_bytes(value: object, what: str) -> bytes:
    data = json.dumps(value, separators=(",", ":")).encode()
    if len(data) > MAX_PROPERTY_BYTES:
        raise PayloadTooLargeError(f"The installation's {what} is larger than 64 KB.")
    return data


def stored_row(key: InstallationKey, entity: Row, max_tags: int) -> StoredInstallation:
    deleted = bool(entity.get("Deleted"))
    document = None
    if not deleted:
        doc = json.loads(bytes(entity["Doc"]))
        document = parse_device(doc, device_id=str(entity["RowKey"]), max_tags=max_tags)
    return StoredInstallation(
        key=key,
        document=document,
        entity=entity,
        etag=entity.etag,
        version=int(entity.get("Version", 0)),
        content_hash=str(entity.get("Hash", "")),
        view_digest=str(entity.get("ViewDigest", "")),
        index={t: tuple(s) for t, s in json.loads(bytes(entity.get("Index", b"{}"))).items()},
        pending_deletes=frozenset(json.loads(entity.get("PendingDeletes", "[]"))),
        pending=bool(entity.get("Pending")),
    )


def installation_row(
    key: InstallationKey, new: Device, version: int, view: EncodedView
) -> dict[str, Any]:
    """The installations-table row of ``new``, settled (no write pending)."""
    index = index_of(new)
    row: dict[str, Any] = {
        "PartitionKey": key.partition,
        "RowKey": key.installation_id,
        "Doc": _json_bytes(new.to_wire(), "body"),
        "Hash": new.content_hash,
        "ViewDigest": view.digest,
        "View": view.data,
        "Version": version,
        "Index": _json_bytes(index, "tag index"),
        "Platform": new.platform.value,
        "Handle": handle_key(new),
        "Deleted": False,
        "Pending": False,
        "PendingDeletes": "[]",
    }
    optional = {
        "UserId": new.user_id,
        "LastUpdate": new.last_update,
        "ExpiresAt": new.expiration_time,
    }
    row.update({k: v for k, v in optional.items() if v is not None})
    return row


def index_row(
    key: InstallationKey, tag: str, scopes: tuple[str, ...], view: bytes, version: int
) -> dict[str, Any]:
    return {
        "PartitionKey": tag_partition(key.hub, tag, key.shard),
        "RowKey": key.installation_id,
        "View": view,
        "Scopes": json.dumps(scopes),
        "Version": version,
    }


class InstallationStore:
    def __init__(
        self,
        tables: Tables,
        *,
        step: StepHook | None = None,
        parallel_writes: int = _PARALLEL_INDEX_WRITES,
    ) -> None:
        self._tables = tables
        self._step = step or (lambda _: None)
        self._writes = asyncio.Semaphore(parallel_writes)

    async def _installations(self) -> TableRows:
        return await self._tables.rows(INSTALLATIONS)

    async def read(self, key: InstallationKey, *, max_tags: int) -> StoredInstallation | None:
        table = await self._installations()
        try:
            row = await table.get(key.partition, key.installation_id)
        except ResourceNotFoundError:
            return None
        return stored_row(key, row, max_tags)

    async def save(
        self, key: InstallationKey, expected: StoredInstallation | None, new: Device
    ) -> SaveResult:
        """Store ``new`` over ``expected`` (what :meth:`read` answered); LostRace if it moved."""
        live = expected is not None and expected.document is not None
        if live and expected and not expected.pending and expected.content_hash == new.content_hash:
            return SaveResult.UNCHANGED
        view = EncodedView.of(new)
        index = index_of(new)
        version = (expected.version if expected else 0) + 1
        rewrite = expected is None or expected.pending or expected.view_digest != view.digest
        old_index: Index = expected.index if expected else {}
        upserts = {t: s for t, s in index.items() if rewrite or old_index.get(t) != s}
        known = set(old_index) | (expected.pending_deletes if expected else frozenset())
        deletes = known - set(index)
        row = installation_row(key, new, version, view)
        if upserts or deletes:
            row.update(Pending=True, PendingDeletes=json.dumps(sorted(deletes)))
            row["PendingSince"] = datetime.now(UTC)
        self._step("row")
        etag = await self._write_row(row, expected)
        if upserts or deletes:
            await self._apply(key, upserts, deletes, view.data, version)
            settled = dict(row, Pending=False, PendingDeletes="[]")
            settled.pop("PendingSince", None)
            await self._settle(key, settled, etag, set(upserts) | deletes)
        return SaveResult.CREATED if expected is None else SaveResult.UPDATED

    async def delete(self, key: InstallationKey, expected: StoredInstallation) -> None:
        """Remove the installation and its index rows; LostRace if the row moved."""
        deletes = set(expected.index) | expected.pending_deletes
        table = await self._installations()
        if deletes:
            marker = {
                "PartitionKey": key.partition,
                "RowKey": key.installation_id,
                "Deleted": True,
                "Pending": True,
                "PendingDeletes": json.dumps(sorted(deletes)),
                "PendingSince": datetime.now(UTC),
                "Version": expected.version + 1,
            }
            self._step("row")
            etag = await self._write_row(marker, expected)
            await self._apply(key, {}, deletes, b"", expected.version + 1)
        else:
            etag = expected.etag
        self._step("settle")
        try:
            await table.delete(key.partition, key.installation_id, etag)
        except ResourceModifiedError:
            if not deletes:
                raise LostRace from None
            await self._resync(key, deletes)

    async def _write_row(self, row: dict[str, Any], expected: StoredInstallation | None) -> str:
        table = await self._installations()
        try:
            if expected is None:
                return await table.insert(row)
            return await table.replace(row, expected.etag)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as lost:
            raise LostRace from lost

    async def _apply(
        self,
        key: InstallationKey,
        upserts: Mapping[str, tuple[str, ...]],
        deletes: Iterable[str],
        view: bytes,
        version: int,
    ) -> None:
        index = await self._tables.rows(TAG_INDEX)

        async def upsert(tag: str, scopes: tuple[str, ...]) -> None:
            async with self._writes:
                self._step(f"index:{tag}")
                await index.upsert(index_row(key, tag, scopes, view, version))

        async def delete(tag: str) -> None:
            async with self._writes:
                self._step(f"index:{tag}")
                await index.delete(tag_partition(key.hub, tag, key.shard), key.installation_id)

        await asyncio.gather(
            *(upsert(t, s) for t, s in upserts.items()), *(delete(t) for t in deletes)
        )

    async def _settle(
        self, key: InstallationKey, settled: dict[str, Any], etag: str, known: set[str]
    ) -> None:
        table = await self._installations()
        self._step("settle")
        try:
            await table.replace(settled, etag)
        except (ResourceModifiedError, ResourceNotFoundError):
            await self._resync(key, known)

    async def _resync(self, key: InstallationKey, known: set[str]) -> None:
        """Another writer committed meanwhile: make the index match the newest row, then
        settle that row; repeat while writers keep committing."""
        table = await self._installations()
        for _ in range(_SETTLE_ROUNDS):
            latest = await self.read(key, max_tags=1 << 30)
            if latest is None:
                await self._apply(key, {}, known, b"", 0)
                if await self.read(key, max_tags=1 << 30) is None:
                    return
                continue
            document = latest.document
            target: Index = latest.index if document is not None else {}
            stale = (known | set(latest.index) | latest.pending_deletes) - set(target)
            view = EncodedView.of(document).data if document is not None else b""
            await self._apply(key, target, stale, view, latest.version)
            try:
                if document is None:
                    await table.delete(key.partition, key.installation_id, latest.etag)
                else:
                    settled = dict(latest.entity, Pending=False, PendingDeletes="[]")
                    settled.pop("PendingSince", None)
                    await table.replace(settled, latest.etag)
                return
            except (ResourceModifiedError, ResourceNotFoundError):
                known |= stale
        # Writers are still racing; whichever commits last settles its own row.

    async def finish_pending(
        self, older_than: timedelta, *, skip_hubs: Container[str] = frozenset()
    ) -> AsyncIterator[InstallationKey]:
        """Finish writes whose writer died: rows still Pending after ``older_than``, except
        those of ``skip_hubs`` (deleted hubs, whose rows are being purged)."""
        table = await self._tables.get(INSTALLATIONS)
        cutoff = datetime.now(UTC) - older_than
        rows = table.query_entities(
            "PendingSince le @cutoff",
            parameters={"cutoff": cutoff},
            select=["PartitionKey", "RowKey"],
        )
        async for row in rows:
            hub, _, shard = str(row["PartitionKey"]).rpartition("~")
            if hub in skip_hubs:
                continue
            key = InstallationKey(hub, int(shard), str(row["RowKey"]))
            await self._resync(key, set())
            yield key
