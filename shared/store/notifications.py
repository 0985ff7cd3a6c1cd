"""A notification's partition: its request and state (``meta``), and one row per step of work.

PartitionKey ``{hub}~{notification id}``. A step (one page of one shard, one direct chunk, one
retry batch) is *claimed* by inserting its row with the queue message id, and *finished* by
rewriting it with its counts and failures. A second copy of the same step (another message
id) finds the claim and stands down; the same message redelivered carries on from the step's
*progress*: a step that delivers more than a few hundred devices records, after each slice,
what it has done so far and the key of the last device it accounted for, so a retried step
never delivers again to a device it already reached. Telemetry is one partition query.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from shared.errors import BadRequestError, NotFoundError, PayloadTooLargeError
from shared.store.rows import Row, with_parameters
from shared.store.tables import NOTIFICATIONS, SCHEDULED, Tables

META = "meta"
COMPLETION = "completed"  # created by the step that reports the send complete (its log line)
_RECENT_SENDS = 64  # meta rows a store keeps for the steps that follow (see get_meta)
_RECENT_REQUEST_BYTES = 64 * 1024  # larger ones (direct sends' devices) are read each time
MAX_FAILURES_BYTES = 60 * 1024
_PART_BYTES = 64 * 1024  # a binary property's limit
_MAX_PARTS = 14  # an entity holds 1 MiB in all
_ID_CLOCK = 2**48 - 1  # milliseconds: ids made before the year 10889 list newest first
ID_RANGES = 16  # an id's first hex digit
_NOTIFICATION_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
MAX_LISTED = 100  # notifications one listing page may hold
DEFAULT_LISTED = 20


class NotificationState(StrEnum):
    SCHEDULED = "Scheduled"
    ENQUEUED = "Enqueued"
    PROCESSING = "Processing"
    CANCELLED = "Cancelled"
    ABANDONED = "Abandoned"  # its plan ended in the poison queue: nothing was sent


@dataclass(frozen=True)
class NotificationMeta:
    hub: str
    notification_id: str
    request: bytes  # the stored send request (JSON)
    state: NotificationState
    enqueued_at: datetime
    expires_at: datetime
    chains: int = 0  # how many step chains the send runs (shards, or direct chunks)
    inline: bool = False  # its plan step delivers its small audience itself (one chain)
    started_at: datetime | None = None
    scheduled_for: datetime | None = None


@dataclass
class StepResult:
    """What one step did. ``counts`` is platform -> outcome -> number of deliveries."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    untold_failures: int = 0  # failures counted but not named (the row's size limit)
    retries: int = 0  # retry batches this step spawned
    last: bool = False  # this step ends its chain
    next_cursor: str | None = None

    def count(self, platform: str, outcome: str, number: int = 1) -> None:
        per_platform = self.counts.setdefault(platform, {})
        per_platform[outcome] = per_platform.get(outcome, 0) + number


@dataclass(frozen=True)
class StepRow:
    key: str
    message_id: str
    done: bool
    result: StepResult
    finished_at: datetime | None = None
    progress: str | None = None  # the key of the last target accounted for (None: none yet)
    last_error: str | None = None  # why the step's last attempt failed, for the poison handler


def new_notification_id(now: datetime) -> str:
    """32 hex digits: a random range (one of 16), the time counted down, then 76 random bits.
    Within a range a hub's partitions sort newest first, so a listing merges 16 key-range
    queries; the ranges keep a busy hub's new partitions off one end of the table, which
    would put every send's writes on one partition server (Storage's prepend anti-pattern)."""
    countdown = _ID_CLOCK - int(now.timestamp() * 1000)
    return f"{secrets.randbelow(ID_RANGES):x}{countdown:012x}{secrets.token_hex(10)[:19]}"


def _age_order(notification_id: str) -> str:
    """Sorts ids newest first across their ranges."""
    return notification_id[1:]


def check_notification_id(text: str) -> str:
    """``text`` if it could be an id Herald issued (hex; other characters would not fit a key),
    else a 404: no notification has it."""
    if not _NOTIFICATION_ID.fullmatch(text):
        raise NotFoundError(f"The notification {text[:64]!r} does not exist.")
    return text


def listing_page(query: Mapping[str, str]) -> tuple[int, str | None]:
    """``top`` (1-100, 20 by default) and ``continuationToken`` (the last id of the page
    before) of a request for a page of notifications; a 400 for a bad ``top``."""
    top = query.get("top", str(DEFAULT_LISTED))
    if not (top.isascii() and top.isdigit() and len(top) <= 3 and 1 <= int(top) <= MAX_LISTED):
        raise BadRequestError(f"top must be a number from 1 to {MAX_LISTED}.")
    after = query.get("continuationToken")
    return int(top), None if after is None else check_notification_id(after)


def _partition(hub: str, notification_id: str) -> str:
    return f"{hub}~{notification_id}"


def _listing_range(hub: str, first_digit: int) -> tuple[str, str]:
    """The notification partitions of ``hub`` whose ids begin with the hex digit: the
    partitions that sort after ``{hub}~~`` hold other rows of the hub's (its events)."""
    digit = f"{first_digit:x}"
    return f"{hub}~{digit}", f"{hub}~{chr(ord(digit) + 1)}"


def _failures_bytes(failures: Sequence[Mapping[str, str]]) -> tuple[bytes, int]:
    """As many failures as fit one property; and how many did not."""
    kept: list[Mapping[str, str]] = []
    size = 2
    for failure in failures:
        encoded = len(json.dumps(failure)) + 1
        if size + encoded > MAX_FAILURES_BYTES:
            break
        kept.append(failure)
        size += encoded
    return json.dumps(kept, separators=(",", ":")).encode(), len(failures) - len(kept)


def _step_row(entity: Row) -> StepRow:
    result = StepResult(
        counts=json.loads(entity.get("Counts", "{}")),
        failures=json.loads(bytes(entity.get("Failures", b"[]"))),
        untold_failures=int(entity.get("UntoldFailures", 0)),
        retries=int(entity.get("Retries", 0)),
        last=bool(entity.get("Last", False)),
        next_cursor=entity.get("NextCursor"),
    )
    done = bool(entity.get("Done"))
    return StepRow(
        str(entity["RowKey"]),
        str(entity.get("MessageId", "")),
        done,
        result,
        entity.timestamp if done else None,
        entity.get("Progress"),
        entity.get("LastError"),
    )


def _meta(hub: str, notification_id: str, entity: Mapping[str, Any]) -> NotificationMeta:
    return NotificationMeta(
        hub=hub,
        notification_id=notification_id,
        request=b"".join(
            bytes(entity[f"Request{n}"]) for n in range(_MAX_PARTS) if f"Request{n}" in entity
        ),
        state=NotificationState(entity["State"]),
        enqueued_at=entity["EnqueuedAt"],
        expires_at=entity["ExpiresAt"],
        chains=int(entity.get("Chains", 0)),
        inline=bool(entity.get("Inline", False)),
        started_at=entity.get("StartedAt"),
        scheduled_for=entity.get("ScheduledFor"),
    )


@dataclass(frozen=True)
class NotificationRows:
    meta: NotificationMeta
    steps: Sequence[StepRow]
    dropped_failures: int


class NotificationStore:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        # Steps of one send share its request; a page step need not read it again.
        self._recent: dict[tuple[str, str], tuple[float, NotificationMeta]] = {}

    async def create(self, meta: NotificationMeta) -> None:
        table = await self._tables.rows(NOTIFICATIONS)
        parts = [
            meta.request[i : i + _PART_BYTES] for i in range(0, len(meta.request), _PART_BYTES)
        ]
        if len(parts) > _MAX_PARTS:
            raise PayloadTooLargeError("The notification and its devices exceed 896 KB.")
        entity: dict[str, Any] = {
            "PartitionKey": _partition(meta.hub, meta.notification_id),
            "RowKey": META,
            **{f"Request{n}": part for n, part in enumerate(parts)},
            "State": meta.state.value,
            "EnqueuedAt": meta.enqueued_at,
            "ExpiresAt": meta.expires_at,
            "Chains": meta.chains,
        }
        if meta.scheduled_for is not None:
            entity["ScheduledFor"] = meta.scheduled_for
        await table.insert(entity)

    async def get_meta(
        self, hub: str, notification_id: str, *, max_age: float = 0.0
    ) -> NotificationMeta:
        """The meta row; with ``max_age``, one this process read at most that many seconds ago
        will do (its request and time to live never change; its state and chains may)."""
        key = (hub, notification_id)
        recent = self._recent.get(key)
        if recent is not None and time.monotonic() - recent[0] <= max_age:
            return recent[1]
        table = await self._tables.rows(NOTIFICATIONS)
        try:
            entity = await table.get(_partition(hub, notification_id), META)
        except ResourceNotFoundError:
            raise NotFoundError(f"The notification {notification_id!r} does not exist.") from None
        meta = _meta(hub, notification_id, entity)
        if len(meta.request) <= _RECENT_REQUEST_BYTES:
            if len(self._recent) >= _RECENT_SENDS:
                del self._recent[next(iter(self._recent))]  # the oldest
            self._recent[key] = (time.monotonic(), meta)
        return meta

    async def update_meta(self, hub: str, notification_id: str, **fields: Any) -> None:
        """Merge ``fields`` (State, Chains, StartedAt, ...) into the meta row."""
        table = await self._tables.rows(NOTIFICATIONS)
        entity = {"PartitionKey": _partition(hub, notification_id), "RowKey": META, **fields}
        await table.merge(entity)

    async def claim_step(
        self, hub: str, notification_id: str, key: str, message_id: str
    ) -> StepRow | None:
        """Claim ``key`` for ``message_id``; the row if it was already claimed (or done)."""
        table = await self._tables.rows(NOTIFICATIONS)
        partition = _partition(hub, notification_id)
        try:
            await table.insert(
                {"PartitionKey": partition, "RowKey": key, "MessageId": message_id, "Done": False}
            )
        except ResourceExistsError:
            return _step_row(await table.get(partition, key))
        return None

    async def record_progress(
        self,
        hub: str,
        notification_id: str,
        key: str,
        message_id: str,
        result: StepResult,
        progress: str,
    ) -> None:
        """What the step has done so far, up to and including the target keyed ``progress``."""
        entity = self._result_entity(hub, notification_id, key, message_id, result)
        entity.update(Done=False, Progress=progress)
        await self._write(entity)

    async def finish_step(
        self, hub: str, notification_id: str, key: str, message_id: str, result: StepResult
    ) -> None:
        entity = self._result_entity(hub, notification_id, key, message_id, result)
        entity.update(Done=True, Last=result.last)
        if result.next_cursor is not None:
            entity["NextCursor"] = result.next_cursor
        await self._write(entity)

    async def note_error(self, hub: str, notification_id: str, key: str, error: str) -> None:
        """Keep why a step's attempt failed, so its poison handler can say why it gave up."""
        table = await self._tables.rows(NOTIFICATIONS)
        entity = {"PartitionKey": _partition(hub, notification_id), "RowKey": key}
        await table.merge({**entity, "LastError": error[:1000]})

    @staticmethod
    def _result_entity(
        hub: str, notification_id: str, key: str, message_id: str, result: StepResult
    ) -> dict[str, Any]:
        failures, untold = _failures_bytes(result.failures)
        return {
            "PartitionKey": _partition(hub, notification_id),
            "RowKey": key,
            "MessageId": message_id,
            "Counts": json.dumps(result.counts, separators=(",", ":")),
            "Failures": failures,
            "UntoldFailures": result.untold_failures + untold,
            "Retries": result.retries,
        }

    async def _write(self, entity: dict[str, Any]) -> None:
        table = await self._tables.rows(NOTIFICATIONS)
        await table.upsert(entity)

    async def claim_completion(self, hub: str, notification_id: str) -> bool:
        """True for the one caller that first claims the send's completion (to report it)."""
        table = await self._tables.rows(NOTIFICATIONS)
        entity = {"PartitionKey": _partition(hub, notification_id), "RowKey": COMPLETION}
        try:
            await table.insert(entity)
        except ResourceExistsError:
            return False
        return True

    async def read_all(self, hub: str, notification_id: str) -> NotificationRows:
        table = await self._tables.rows(NOTIFICATIONS)
        query = with_parameters("PartitionKey eq @pk", {"pk": _partition(hub, notification_id)})
        rows, resume = await table.page(query, top=1000, metadata=True)
        while resume is not None:  # a send of more than a thousand steps
            more, resume = await table.page(query, top=1000, metadata=True, resume=resume)
            rows += more
        meta: NotificationMeta | None = None
        steps: list[StepRow] = []
        untold = 0
        for entity in rows:
            if entity["RowKey"] == META:
                meta = _meta(hub, notification_id, entity)
            elif entity["RowKey"] != COMPLETION:
                steps.append(_step_row(entity))
                untold += int(entity.get("UntoldFailures", 0))
        if meta is None:
            raise NotFoundError(f"The notification {notification_id!r} does not exist.")
        return NotificationRows(meta, steps, untold)

    async def recent_ids(self, hub: str, *, top: int, after: str | None = None) -> list[str]:
        """The ids of up to ``top`` of the hub's notifications, newest first, from the one
        after the notification ``after`` on: the newest ``top`` of each id range, merged. Only
        keys are read; a caller reads the notifications it lists itself."""
        table = await self._tables.rows(NOTIFICATIONS)

        async def newest(first_digit: int) -> list[str]:
            low, high = _listing_range(hub, first_digit)
            if after is not None:
                low += _age_order(after)  # this range's ids older than ``after``
            query = with_parameters(
                "PartitionKey gt @low and PartitionKey lt @high and RowKey eq @meta",
                {"low": low, "high": high, "meta": META},
            )
            found: list[str] = []
            resume = None
            while len(found) < top:
                rows, resume = await table.page(
                    query, top=top - len(found), select=["PartitionKey"], resume=resume
                )
                found += [str(row["PartitionKey"])[len(hub) + 1 :] for row in rows]
                if resume is None:
                    break
            return found

        ranges = await asyncio.gather(*(newest(digit) for digit in range(ID_RANGES)))
        return sorted((i for found in ranges for i in found), key=_age_order)[:top]


SCHEDULED_PARTITION = "scheduled"  # one partition of every hub's parked sends


@dataclass(frozen=True)
class ParkedSend:
    hub: str
    notification_id: str
    due: datetime
    row_key: str


class ScheduleStore:
    """Sends due later than a queue message can wait (7 days), parked until the timer can
    enqueue them. One partition, ordered by due time."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def park(self, hub: str, notification_id: str, due: datetime) -> None:
        table = await self._tables.get(SCHEDULED)
        await table.upsert_entity(
            {
                "PartitionKey": SCHEDULED_PARTITION,
                "RowKey": f"{due.strftime('%Y%m%dT%H%M%S')}~{hub}~{notification_id}",
                "Hub": hub,
                "NotificationId": notification_id,
                "Due": due,
            }
        )

    async def due_before(self, moment: datetime, limit: int = 1000) -> list[ParkedSend]:
        table = await self._tables.get(SCHEDULED)
        rows = table.query_entities(
            "PartitionKey eq @pk and RowKey lt @until",
            parameters={"pk": SCHEDULED_PARTITION, "until": moment.strftime("%Y%m%dT%H%M%S~")},
            results_per_page=limit,
        )
        found: list[ParkedSend] = []
        async for row in rows:
            found.append(
                ParkedSend(row["Hub"], row["NotificationId"], row["Due"], str(row["RowKey"]))
            )
            if len(found) >= limit:
                break
        return found

    async def release(self, parked: ParkedSend) -> None:
        table = await self._tables.get(SCHEDULED)
        await table.delete_entity(SCHEDULED_PARTITION, parked.row_key)
