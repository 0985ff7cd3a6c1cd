"""Timer triggers: six-field NCRONTAB schedules (five-field accepted), UTC, runOnStartup.

Like the real host, a timer runs on one instance at a time across a scaled-out app: each
occurrence is claimed by inserting a row keyed by function and due time into a table of the
app's storage account, and only the instance whose insert succeeds runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables.aio import TableClient
from azure.functions.meta import Datum
from croniter import croniter

from emulator.app import AppLoadError, FunctionDef
from emulator.dispatch import Dispatcher
from emulator.invoke import InvocationError
from emulator.storage import client_options, connection_string, until_stopped

log = logging.getLogger("emulator.timers")

CLAIMS_TABLE = "emulatortimerclaims"
PAST_DUE_AFTER = timedelta(seconds=5)


def next_occurrence(schedule: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``schedule`` names."""
    fields = schedule.split()
    if len(fields) not in (5, 6):
        raise AppLoadError(f"timer schedule {schedule!r} is not a 5- or 6-field NCRONTAB")
    iterator = croniter(schedule, after, second_at_beginning=len(fields) == 6)
    due: datetime = iterator.get_next(datetime)
    return due


def timer_datum(past_due: bool, last: datetime | None, due: datetime, following: datetime) -> Datum:
    status = {
        "Last": (last or datetime.min.replace(tzinfo=UTC)).isoformat(),
        "Next": following.isoformat(),
        "LastUpdated": due.isoformat(),
    }
    payload = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
    return Datum(json.dumps(payload), "json")


class TimerScheduler:
    def __init__(self, function: FunctionDef, dispatcher: Dispatcher) -> None:
        self.function = function
        self.schedule = function.trigger.setting("schedule") or ""
        next_occurrence(self.schedule, datetime.now(UTC))  # fail at load on a bad schedule
        self._dispatcher = dispatcher
        self._claims = TableClient.from_connection_string(
            connection_string(None), table_name=CLAIMS_TABLE, **client_options(os.environ)
        )

    async def run(self, stopping: asyncio.Event) -> None:
        with contextlib.suppress(ResourceExistsError):
            await until_stopped(self._claims.create_table(), stopping)
        last: datetime | None = None
        if self.function.trigger.raw.get("runOnStartup") and not stopping.is_set():
            now = datetime.now(UTC)
            await self._fire(False, last, now, next_occurrence(self.schedule, now))
            last = now
        due = next_occurrence(self.schedule, datetime.now(UTC))
        while not stopping.is_set():
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0:
                try:
                    await asyncio.wait_for(stopping.wait(), timeout=wait)
                    break
                except TimeoutError:
                    pass
            following = next_occurrence(self.schedule, due)
            if await self._claim(due):
                past_due = datetime.now(UTC) - due > PAST_DUE_AFTER
                await self._fire(past_due, last, due, following)
                last = due
            due = following
        await self._claims.close()

    async def _claim(self, due: datetime) -> bool:
        row = {"PartitionKey": self.function.name, "RowKey": due.strftime("%Y%m%dT%H%M%S")}
        try:
            await self._claims.create_entity(row)
        except ResourceExistsError:
            return False  # another instance runs this occurrence
        except AzureError as error:
            log.warning("Claiming %s at %s failed: %s", self.function.name, due, error)
            return False
        return True

    async def fire_now(self) -> None:
        now = datetime.now(UTC)
        await self._fire(False, None, now, next_occurrence(self.schedule, now))

    async def _fire(
        self, past_due: bool, last: datetime | None, due: datetime, following: datetime
    ) -> None:
        datum = timer_datum(past_due, last, due, following)
        # A failed run is logged by the dispatcher; a timer waits for its next occurrence.
        with contextlib.suppress(InvocationError):
            await self._dispatcher.run(self.function.name, datum, {}, f"due {due.isoformat()}")
