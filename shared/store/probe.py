"""Is Azure Storage reachable? One cheap table query and one queue call, bounded in time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from azure.core.exceptions import AzureError, ResourceNotFoundError

from shared.store.clients import StorageClients

PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class StorageProbe:
    reachable: bool
    latency_ms: float
    error: str | None = None


async def _touch(clients: StorageClients) -> None:
    tables = clients.tables.query_tables("TableName eq @name", parameters={"name": "hubs"})
    async for _ in tables:
        break
    # A missing queue still proves the service answered; queues are created on first use.
    with contextlib.suppress(ResourceNotFoundError):
        await clients.queues.get_queue_client("fanout").get_queue_properties()


async def probe_storage(clients: StorageClients) -> StorageProbe:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(_touch(clients), PROBE_TIMEOUT_SECONDS)
    except TimeoutError:
        error: str | None = f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
    except AzureError as failure:
        error = f"{type(failure).__name__}: {str(failure).splitlines()[0]}"
    else:
        error = None
    elapsed = (time.perf_counter() - started) * 1000
    return StorageProbe(reachable=error is None, latency_ms=round(elapsed, 1), error=error)
