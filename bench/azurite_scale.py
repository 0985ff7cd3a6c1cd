"""Azurite's own cost per table request as its table grows: what bounds a million-row run here.

    .venv/bin/python bench/azurite_scale.py [--sizes 0 100000 300000 600000]

``make bench`` runs it last: it takes about 15 minutes to 600,000 rows. One fresh Azurite
(in memory, as every bench uses it) and one table. At each size, rows of 100 bytes are first
bulk-inserted in 100-row entity-group transactions over 16 partitions (8 at once), timed; then,
8 at once, 500 single inserts, 500 point reads of those rows, and one 1,000-row page read of
one partition; the rates are also shown against the first size's, the baseline. Azurite keeps
a table in one LokiJS collection: a point read filters its partition, an insert keeps the
collection's two sorted indexes in order, and a query scans the collection, so every figure
falls as the table grows. Azure Table storage has no such
growth; this bench says what a run of a given size costs on the emulator, not on Azure.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from azure.data.tables.aio import TableClient, TableServiceClient  # noqa: E402

from emulator.azurite import Azurite  # noqa: E402

PARTITIONS = 16
AT_ONCE = 8
PROBES = 500


async def _grow(table: TableClient, start: int, stop: int) -> float:
    """Rows ``start``..``stop`` in 100-row transactions; the seconds it took."""
    slots = asyncio.Semaphore(AT_ONCE)

    async def batch(first: int) -> None:
        partition = f"p{(first // 100) % PARTITIONS:02d}"
        rows = [
            ("create", {"PartitionKey": partition, "RowKey": f"r{n:09d}", "v": "x" * 100})
            for n in range(first, min(first + 100, stop))
        ]
        async with slots:
            await table.submit_transaction(rows)

    started = time.perf_counter()
    await asyncio.gather(*(batch(first) for first in range(start, stop, 100)))
    return time.perf_counter() - started


async def _rate(requests: list[Coroutine[Any, Any, None]]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*requests)
    return len(requests) / (time.perf_counter() - started)


async def _probe(table: TableClient, size: int) -> tuple[float, float, float]:
    """Single inserts/s, point reads/s, and one page read's milliseconds, at ``size`` rows."""
    slots = asyncio.Semaphore(AT_ONCE)

    def key(n: int) -> tuple[str, str]:
        return f"p{n % PARTITIONS:02d}", f"s{size:09d}-{n:04d}"

    async def insert(n: int) -> None:
        partition, row = key(n)
        async with slots:
            await table.create_entity({"PartitionKey": partition, "RowKey": row, "v": "y"})

    async def read(n: int) -> None:
        async with slots:
            await table.get_entity(*key(n))

    inserts = await _rate([insert(n) for n in range(PROBES)])
    reads = await _rate([read(n) for n in range(PROBES)])
    started = time.perf_counter()
    pages = table.query_entities("PartitionKey eq 'p03'", results_per_page=1000).by_page()
    async for page in pages:
        _ = [row async for row in page]
        break
    return inserts, reads, (time.perf_counter() - started) * 1000


async def _bench(sizes: list[int]) -> None:
    azurite = await Azurite.start(REPO)
    try:
        async with TableServiceClient.from_connection_string(azurite.connection_string) as svc:
            table = await svc.create_table("scale")
            rows = 0
            smallest: tuple[float, float] | None = None  # the baseline: the first size's rates
            print(
                "rows in the table | bulk insert to it, rows/s | single inserts/s | "
                "point reads/s | of the first size's | 1,000-row page read, ms",
                flush=True,
            )
            for size in sorted(sizes):
                grow = (
                    f"{(size - rows) / await _grow(table, rows, size):,.0f}" if size > rows else "-"
                )
                rows = max(rows, size)  # the probes' rows come on top: 500 a size
                inserts, reads, page = await _probe(table, size)
                smallest = smallest or (inserts, reads)
                relative = f"{inserts / smallest[0]:.0%} / {reads / smallest[1]:.0%}"
                print(
                    f"{size:>17,} | {grow:>25} | {inserts:>16,.0f} | {reads:>13,.0f} | "
                    f"{relative:>19} | {page:>8,.0f}",
                    flush=True,
                )
    finally:
        azurite.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000, 300_000, 600_000])
    asyncio.run(_bench(parser.parse_args().sizes))


if __name__ == "__main__":
    main()
