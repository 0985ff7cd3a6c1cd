"""Dead handles the push services reported, one row each, for the feedback processor.

PartitionKey ``{hub}~{platform}``; RowKey the report time and a hash of the handle, so rows
sort by time and a handle reported twice in one second is one row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from azure.data.tables import UpdateMode

from shared.store.tables import FEEDBACK, Tables

_TRANSACTION_LIMIT = 100


@dataclass(frozen=True)
class DeadHandle:
    platform: str
    handle: str
    installation_id: str
    outcome: str  # expired_handle or invalid_handle
    reason: str  # the PNS's own words
    notification_id: str
    reported_at: datetime
    new_handle: str | None = None  # a replacement the PNS issued (ADM)


def _entity(hub: str, dead: DeadHandle) -> dict[str, Any]:
    digest = hashlib.sha256(dead.handle.encode()).hexdigest()[:16]
    entity: dict[str, Any] = {
        "PartitionKey": f"{hub}~{dead.platform}",
        "RowKey": f"{dead.reported_at.strftime('%Y%m%dT%H%M%S')}~{digest}",
        "Handle": dead.handle,
        "InstallationId": dead.installation_id,
        "Outcome": dead.outcome,
        "Reason": dead.reason,
        "NotificationId": dead.notification_id,
        "ReportedAt": dead.reported_at,
    }
    if dead.new_handle is not None:
        entity["NewHandle"] = dead.new_handle
    return entity


class FeedbackStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def record(self, hub: str, dead_handles: Sequence[DeadHandle]) -> None:
        """Upsert the reports in transactions of up to 100 per partition."""
        if not dead_handles:
            return
        table = await self._tables.get(FEEDBACK)
        entities = sorted((_entity(hub, d) for d in dead_handles), key=lambda e: e["PartitionKey"])
        for _, group in groupby(entities, key=lambda e: e["PartitionKey"]):
            unique = {e["RowKey"]: e for e in group}  # a RowKey may appear once per transaction
            rows = list(unique.values())
            for start in range(0, len(rows), _TRANSACTION_LIMIT):
                chunk = rows[start : start + _TRANSACTION_LIMIT]
                await table.submit_transaction(
                    [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in chunk]
                )
