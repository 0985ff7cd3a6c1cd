"""What table storage holds for a hub's installations and tag index."""

from __future__ import annotations

from shared.engine import Engine
from shared.store.keys import decode_key
from shared.store.tables import INSTALLATIONS, TAG_INDEX


async def index_rows(engine: Engine, hub: str) -> set[tuple[str, str]]:
    """(tag, installation id) for every tag-index row of ``hub``."""
    table = await engine.tables.get(TAG_INDEX)
    rows = table.query_entities(
        "PartitionKey ge @low and PartitionKey lt @high",
        parameters={"low": f"{hub}~", "high": f"{hub}~\x7f"},
        select=["PartitionKey", "RowKey"],
    )
    found = set()
    async for row in rows:
        _, encoded_tag, _ = str(row["PartitionKey"]).split("~")
        found.add((decode_key(encoded_tag), str(row["RowKey"])))
    return found


async def installation_rows(engine: Engine, hub: str) -> dict[str, dict[str, object]]:
    table = await engine.tables.get(INSTALLATIONS)
    rows = table.query_entities(
        "PartitionKey ge @low and PartitionKey lt @high",
        parameters={"low": f"{hub}~", "high": f"{hub}~\x7f"},
    )
    return {str(row["RowKey"]): dict(row) async for row in rows}
