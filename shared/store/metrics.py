"""Hub metrics in table storage: one row per (hub, bucket, writer), so no row has two writers.

Each process (a *writer*, named at random when it starts) keeps its own running totals of the
minute, the hour and the day it is in, and writes each whole, replacing the last copy: a flush
is one upsert per bucket, with no read and no ETag. A reader sums the writers' rows.

=========  ==============================  ======================  =======================
bucket     PartitionKey                    RowKey                  kept
=========  ==============================  ======================  =======================
minute     ``{hub}~m~{YYYYMMDD}``          ``{HHMM}~{writer}``     MINUTE_DAYS (then pruned)
hour       ``{hub}~h~{YYYYMM}``            ``{DDHH}~{writer}``     HOUR_DAYS (then pruned)
day        ``{hub}~d~{YYYY}``              ``{MMDD}~{writer}``     always
=========  ==============================  ======================  =======================

A partition holds one hub's buckets of a day, a month or a year, so a range of buckets is a
query of one to a few partitions, and every writer of a hub spreads its few writes a minute
over them: no partition takes more than (processes times buckets) writes per flush interval.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure.data.tables import UpdateMode

from shared.metrics.series import Granularity, moment_of
from shared.store.tables import METRICS, Tables, delete_rows

MINUTE_DAYS = 2
HOUR_DAYS = 62  # a little over the 1,440 hours one answer may span
_PERIOD = {Granularity.MINUTE: "%Y%m%d", Granularity.HOUR: "%Y%m", Granularity.DAY: "%Y"}
_IN_PERIOD = {Granularity.MINUTE: "%H%M", Granularity.HOUR: "%d%H", Granularity.DAY: "%m%d"}
_KEY_RANGE = "PartitionKey ge @low and PartitionKey lt @high"
_WRITES_IN_FLIGHT = 8


@dataclass(frozen=True)
class BucketRow:
    hub: str
    granularity: Granularity
    start: int  # minutes since the epoch
    counts: Mapping[str, float]


def _partition(hub: str, granularity: Granularity, moment: datetime) -> str:
    return f"{hub}~{granularity.value}~{moment.strftime(_PERIOD[granularity])}"


def _period_start(granularity: Granularity, moment: datetime) -> datetime:
    if granularity is Granularity.MINUTE:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.HOUR:
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_period(granularity: Granularity, start: datetime) -> datetime:
    if granularity is Granularity.MINUTE:
        return moment_of(int(start.timestamp() // 60) + 1440)
    if granularity is Granularity.HOUR:
        year, month = divmod(start.month, 12)
        return start.replace(year=start.year + year, month=month + 1)
    return start.replace(year=start.year + 1)


def _start_of_row(granularity: Granularity, partition: str, row_key: str) -> datetime:
    period = partition.rsplit("~", 1)[1]
    text = period + row_key.split("~", 1)[0]
    pattern = _PERIOD[granularity] + _IN_PERIOD[granularity]
    return datetime.strptime(text, pattern).replace(tzinfo=UTC)


class MetricsStore:
    def __init__(self, tables: Tables, writer: str) -> None:
        self._tables = tables
        self.writer = writer

    async def write(self, rows: Sequence[BucketRow]) -> None:
        """Each row's totals, replacing this writer's earlier copy of the bucket."""
        table = await self._tables.get(METRICS)
        slots = asyncio.Semaphore(_WRITES_IN_FLIGHT)

        async def write(row: BucketRow) -> None:
            moment = moment_of(row.start)
            entity = {
                "PartitionKey": _partition(row.hub, row.granularity, moment),
                "RowKey": f"{moment.strftime(_IN_PERIOD[row.granularity])}~{self.writer}",
                "Counts": json.dumps(row.counts, separators=(",", ":")),
            }
            async with slots:
                await table.upsert_entity(entity, mode=UpdateMode.REPLACE)

        await asyncio.gather(*(write(row) for row in rows))

    async def read(
        self, hub: str, granularity: Granularity, start: datetime, end: datetime
    ) -> list[tuple[int, Mapping[str, float]]]:
        """Every writer's row of the buckets that overlap [start, end), as (start, counts)."""
        table = await self._tables.get(METRICS)
        found: list[tuple[int, Mapping[str, float]]] = []
        last = end - timedelta(microseconds=1)  # the last bucket is the one holding this
        period = _period_start(granularity, start)
        while period <= last:
            following = _next_period(granularity, period)
            low = start if start > period else period
            query = "PartitionKey eq @pk and RowKey ge @low"
            parameters = {
                "pk": _partition(hub, granularity, period),
                "low": low.strftime(_IN_PERIOD[granularity]),
            }
            if last < following:  # "HHMM~writer" < "HHMM\x7f": the last bucket's rows, not after
                query += " and RowKey lt @high"
                parameters["high"] = last.strftime(_IN_PERIOD[granularity]) + "\x7f"
            async for row in table.query_entities(query, parameters=parameters):
                moment = _start_of_row(granularity, parameters["pk"], str(row["RowKey"]))
                found.append((int(moment.timestamp() // 60), json.loads(str(row["Counts"]))))
            period = following
        return found

    async def read_all_days(self, hub: str) -> list[Mapping[str, float]]:
        """Every day row the hub has: together, its counts since its metrics began."""
        table = await self._tables.get(METRICS)
        prefix = f"{hub}~{Granularity.DAY.value}~"
        rows = table.query_entities(
            _KEY_RANGE, parameters={"low": prefix, "high": prefix + "\x7f"}, select=["Counts"]
        )
        return [json.loads(str(row["Counts"])) async for row in rows]

    async def delete_before(self, hub: str, granularity: Granularity, before: datetime) -> int:
        """Delete the hub's rows of periods (days, months) that ended by ``before``."""
        table = await self._tables.get(METRICS)
        prefix = f"{hub}~{granularity.value}~"
        cutoff = _partition(hub, granularity, _period_start(granularity, before))
        rows = table.query_entities(
            _KEY_RANGE,
            parameters={"low": prefix, "high": cutoff},
            select=["PartitionKey", "RowKey"],
        )
        keys = [(str(row["PartitionKey"]), str(row["RowKey"])) async for row in rows]
        await delete_rows(table, keys)
        return len(keys)
