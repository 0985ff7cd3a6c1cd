"""Hubs in table storage: settings in clear, secrets sealed; a short per-process cache.

Requests read their hub from the cache, so a hub costs one read per process per
``CACHE_SECONDS``; a changed key reaches every instance within that time.

Deleting a hub replaces its row with a *tombstone* (``DeletedAt``, ``RowsPurged``, no secrets):
the hub answers as missing at once, and its name stays taken until the feedback processor has
purged the hub's rows from every table and removed the tombstone (shared/hubs/purge.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import EdmType, EntityProperty, UpdateMode

from shared.errors import ConfigurationError, ConflictError, NotFoundError
from shared.hubs.model import Hub, validate_hub_name
from shared.hubs.secrets import SecretBox
from shared.store.tables import HUBS, Tables

PARTITION = "hub"
CACHE_SECONDS = 10.0
_COUNT_ATTEMPTS = 8
_TOMBSTONE_FIELDS = ["RowKey", "DeletedAt", "RowsPurged"]


@dataclass(frozen=True)
class DeletedHub:
    """A deleted hub's tombstone: its name is taken until its rows are purged."""

    name: str
    deleted_at: datetime
    rows_purged: int  # about: rows two overlapping runs both deleted count twice
    etag: str = field(default="", compare=False)

    def purging(self) -> str:
        """Why the name cannot be used yet, and how far the purge has come."""
        at = self.deleted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"The hub {self.name!r} was deleted at {at} and is being purged: "
            f"{self.rows_purged:,} rows deleted so far; try again when the purge ends."
        )


def _tombstone(entity: Mapping[str, Any]) -> DeletedHub | None:
    deleted_at = entity.get("DeletedAt")
    if deleted_at is None:
        return None
    count = entity.get("RowsPurged", 0)
    return DeletedHub(
        name=str(entity["RowKey"]),
        deleted_at=deleted_at,
        rows_purged=int(getattr(count, "value", count)),  # Int64 reads back as EntityProperty
        etag=str(getattr(entity, "metadata", {}).get("etag", "")),
    )


def _rows_purged(count: int) -> EntityProperty:
    return EntityProperty(count, EdmType.INT64)


class HubStore:
    def __init__(self, tables: Tables, box: SecretBox | None) -> None:
        self._tables = tables
        self._box = box
        self._cache: dict[str, tuple[float, Hub]] = {}

    def _sealer(self) -> SecretBox:
        if self._box is None:
            raise ConfigurationError(
                "HERALD_SECRET_KEY is not set: hubs' secrets cannot be read or written."
            )
        return self._box

    def _entity(self, hub: Hub) -> dict[str, object]:
        return {
            "PartitionKey": PARTITION,
            "RowKey": hub.name,
            "Settings": json.dumps(hub.settings_json()),
            "Secrets": self._sealer().seal(hub.secrets_json(), context=hub.name),
        }

    def _hub(self, entity: Mapping[str, Any]) -> Hub:
        name = str(entity["RowKey"])
        secrets = self._sealer().open(bytes(entity["Secrets"]), context=name)
        return Hub.from_json(name, json.loads(str(entity["Settings"])), secrets)

    async def get_hub(self, name: str, *, fresh: bool = False) -> Hub:
        """The hub named ``name``; :class:`NotFoundError` if there is none."""
        cached = self._cache.get(name)
        if cached is not None and not fresh and cached[0] > time.monotonic():
            return cached[1]
        validate_hub_name(name)
        table = await self._tables.get(HUBS)
        try:
            entity = await table.get_entity(PARTITION, name)
        except ResourceNotFoundError:
            entity = None
        if entity is None or _tombstone(entity) is not None:
            raise NotFoundError(f"The hub {name!r} does not exist.")
        hub = self._hub(entity)
        self._cache[name] = (time.monotonic() + CACHE_SECONDS, hub)
        return hub

    def was_read(self, name: str) -> bool:
        """Whether this process has read the hub ``name`` (no I/O)."""
        return name in self._cache

    async def create_hub(self, hub: Hub) -> Hub:
        """Store a new hub; :class:`ConflictError` if the name is taken, by a hub or by the
        tombstone of one whose purge has not ended."""
        table = await self._tables.get(HUBS)
        try:
            await table.create_entity(self._entity(hub))
        except ResourceExistsError:
            deleted = await self.get_deleted(hub.name)
            if deleted is not None:
                raise ConflictError(deleted.purging()) from None
            raise ConflictError(f"The hub {hub.name!r} already exists.") from None
        return hub

    async def replace_hub(self, hub: Hub) -> Hub:
        """Store a changed hub; it must exist."""
        table = await self._tables.get(HUBS)
        try:
            await table.update_entity(self._entity(hub), mode=UpdateMode.REPLACE)
        except ResourceNotFoundError:
            raise NotFoundError(f"The hub {hub.name!r} does not exist.") from None
        self._cache.pop(hub.name, None)
        return hub

    async def delete_hub(self, name: str) -> DeletedHub:
        """Replace the hub with a tombstone, which the purge removes when it ends. Deleting
        again changes nothing; deleting a name with no hub purges whatever rows it left."""
        validate_hub_name(name)
        deleted = await self.get_deleted(name)
        if deleted is not None:
            return deleted
        deleted = DeletedHub(name, datetime.now(UTC), 0)
        table = await self._tables.get(HUBS)
        tombstone = {
            "PartitionKey": PARTITION,
            "RowKey": name,
            "DeletedAt": deleted.deleted_at,
            "RowsPurged": _rows_purged(0),
        }
        await table.upsert_entity(tombstone, mode=UpdateMode.REPLACE)
        self._cache.pop(name, None)
        return deleted

    async def get_deleted(self, name: str) -> DeletedHub | None:
        """The tombstone of ``name``; None if the name has a live hub or nothing."""
        table = await self._tables.get(HUBS)
        try:
            entity = await table.get_entity(PARTITION, name, select=_TOMBSTONE_FIELDS)
        except ResourceNotFoundError:
            return None
        return _tombstone(entity)

    async def list_deleted(self) -> list[DeletedHub]:
        """Every tombstone, oldest deletion first."""
        table = await self._tables.get(HUBS)
        query = table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": PARTITION}, select=_TOMBSTONE_FIELDS
        )
        found = [deleted async for e in query if (deleted := _tombstone(e)) is not None]
        return sorted(found, key=lambda deleted: deleted.deleted_at)

    async def add_purged(self, name: str, rows: int) -> None:
        """Count ``rows`` more purged on the tombstone (ETag-conditional, so no run's count is
        lost to another's); nothing if the tombstone is gone."""
        table = await self._tables.get(HUBS)
        for _ in range(_COUNT_ATTEMPTS):
            deleted = await self.get_deleted(name)
            if deleted is None:
                return
            change = {
                "PartitionKey": PARTITION,
                "RowKey": name,
                "RowsPurged": _rows_purged(deleted.rows_purged + rows),
            }
            try:
                await table.update_entity(
                    change,
                    mode=UpdateMode.MERGE,
                    etag=deleted.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
            return

    async def end_purge(self, name: str) -> None:
        """Remove the tombstone: the name is free. Only a tombstone is removed (ETag-
        conditional), never a hub created under the name after another run ended the purge."""
        table = await self._tables.get(HUBS)
        for _ in range(_COUNT_ATTEMPTS):
            deleted = await self.get_deleted(name)
            if deleted is None:
                return
            try:
                await table.delete_entity(
                    PARTITION,
                    name,
                    etag=deleted.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except ResourceModifiedError:
                continue  # an overlapping run counted its rows meanwhile
            return

    async def list_hubs(self) -> AsyncIterator[Hub]:
        """Every live hub (tombstones are not hubs)."""
        table = await self._tables.get(HUBS)
        query = table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})
        async for entity in query:
            if _tombstone(entity) is None:
                yield self._hub(entity)
