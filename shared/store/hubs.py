"""Hubs in table storage: settings in clear, secrets sealed; a short per-process cache.

Requests read their hub from the cache, so a hub costs one read per process per
``CACHE_SECONDS``; a changed key reaches every instance within that time.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.errors import ConfigurationError, ConflictError, NotFoundError
from shared.hubs.model import Hub, validate_hub_name
from shared.hubs.secrets import SecretBox
from shared.store.tables import HUBS, Tables

PARTITION = "hub"
CACHE_SECONDS = 10.0


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
            raise NotFoundError(f"The hub {name!r} does not exist.") from None
        hub = self._hub(entity)
        self._cache[name] = (time.monotonic() + CACHE_SECONDS, hub)
        return hub

    async def create_hub(self, hub: Hub) -> Hub:
        table = await self._tables.get(HUBS)
        try:
            await table.create_entity(self._entity(hub))
        except ResourceExistsError:
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

    async def delete_hub(self, name: str) -> None:
        table = await self._tables.get(HUBS)
        await table.delete_entity(PARTITION, name)
        self._cache.pop(name, None)

    async def list_hubs(self) -> AsyncIterator[Hub]:
        table = await self._tables.get(HUBS)
        query = table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})
        async for entity in query:
            yield self._hub(entity)
