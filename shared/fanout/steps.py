"""Running one step's targets in slices, recording progress, so a retried step resumes.

A step (one page of a shard, one direct chunk, one retry batch) delivers its targets
:data:`SLICE` at a time. After each slice but the last it files the slice's retries and dead
handles, then records in its row the counts so far and the key of the last target accounted
for; the next slice is sent meanwhile. The same step run again (its queue message redelivered
after a storage error or a crash, or its poison handler) skips every target up to that key. So
a run cut short repeats at most two slices (the one in flight and the one whose record was
being written), never the whole page. The last-but-one slice's record is not written: it could
only shorten that repeat to one slice while the last is in flight, and the step's final write
follows soon after. A page of 1,000 targets records progress twice.

Targets come as ``(key, target)`` pairs, keys increasing along the list: installation id and
template for a walk (the walk yields them in that order), the position for direct chunks and
retry batches (their targets are fixed in the message).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.delivery import Delivery, abandon, deliver, give_up, renderer
from shared.engine import Engine
from shared.fanout.journal import log_if_completed, step_failures
from shared.fanout.retries import schedule_retries
from shared.fanout.select import Target
from shared.hubs.model import Hub
from shared.metrics.otel import span
from shared.sending.outcomes import NhOutcome
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationMeta, StepResult, StepRow

log = logging.getLogger(__name__)
SLICE = 250  # targets per slice: a 1,000-device page records its progress twice
TTL_PASSED = "The notification's time to live passed before it could be sent"

Keyed = tuple[str, Target]
SliceRunner = Callable[[list[Target]], Awaitable[Delivery]]


def walk_key(target: Target) -> str:
    """Orders like (installation id, template): ids never hold a character below U+0020."""
    return f"{target.installation_id}\x1f{target.template or ''}"


def position_keys(targets: Sequence[Target]) -> list[Keyed]:
    return [(f"{n:06d}", target) for n, target in enumerate(targets)]


@dataclass
class StepRun:
    """One attempt at a step, carrying on from what an earlier attempt recorded."""

    engine: Engine
    meta: NotificationMeta
    key: str
    message_id: str
    retry_attempt: int  # the attempt number the retry batches this step spawns get
    result: StepResult = field(default_factory=StepResult)
    after: str | None = None  # skip targets keyed up to this
    # Names this run's retry batches apart from an earlier run's: that run may have queued a
    # slice's retries without recording the slice, which this run then sends again.
    retry_parent: str = ""
    sole_step: bool = False  # the send's only step (a small audience): its result is the send's
    _tail: Delivery | None = None  # the last slice, whose writes wait for finish()
    _dead: int = 0  # dead handles this attempt reported

    @classmethod
    def resume(
        cls,
        engine: Engine,
        meta: NotificationMeta,
        key: str,
        message_id: str,
        earlier: StepRow | None,
        *,
        retry_attempt: int,
        sole_step: bool = False,
    ) -> StepRun:
        run = cls(
            engine, meta, key, message_id, retry_attempt, retry_parent=key, sole_step=sole_step
        )
        if earlier is not None:
            run.retry_parent = f"{key}~{uuid.uuid4().hex[:8]}"
            if earlier.progress is not None:
                run.result, run.after = earlier.result, earlier.progress
        return run

    def pending(self, keyed: Sequence[Keyed]) -> list[Keyed]:
        after = self.after
        return list(keyed) if after is None else [item for item in keyed if item[0] > after]

    async def deliver(
        self, hub: Hub, request: SendRequest, keyed: Sequence[Keyed], *, last_attempt: bool
    ) -> None:
        """Send every pending target (past the TTL: count it dropped). ``last_attempt``: what
        still needs a retry counts as failed instead."""
        render = renderer(request, self.meta.notification_id)

        async def one_slice(targets: list[Target]) -> Delivery:
            now = datetime.now(UTC)
            if now > self.meta.expires_at:
                return abandon(targets, NhOutcome.DROPPED, TTL_PASSED)
            delivery = await deliver(
                self.engine.senders, hub, self.meta.notification_id, targets, render, now
            )
            if last_attempt:
                give_up(delivery)
            return delivery

        meta = self.meta
        with span(
            "herald.send.step", hub=meta.hub, notification=meta.notification_id, step=self.key
        ):
            await self._slices(keyed, one_slice)

    async def abandon(self, keyed: Sequence[Keyed], outcome: NhOutcome, reason: str) -> None:
        """Count every pending target as never sent, with ``reason``."""

        async def one_slice(targets: list[Target]) -> Delivery:
            return abandon(targets, outcome, reason)

        await self._slices(keyed, one_slice)

    async def finish(self, *, last: bool, next_cursor: str | None) -> StepResult:
        """File the last slice's retries and dead handles, then mark the step done."""
        if self._tail is not None:
            await self._file(self._tail)
            self._tail = None
        self.result.last, self.result.next_cursor = last, next_cursor
        await self.engine.notifications.finish_step(
            self.meta.hub, self.meta.notification_id, self.key, self.message_id, self.result
        )
        step_failures(self.meta, self.key, self.result, self._dead)
        try:
            await log_if_completed(self.engine, self.meta, self.result, sole_step=self.sole_step)
        except Exception:  # a log line is not worth the step: it is done
            log.debug("Could not tell whether send %s completed", self.key, exc_info=True)
        return self.result

    async def _slices(self, keyed: Sequence[Keyed], run_slice: SliceRunner) -> None:
        pending = self.pending(keyed)
        parts = [pending[start : start + SLICE] for start in range(0, len(pending), SLICE)]
        filing: asyncio.Task[None] | None = None
        for number, part in enumerate(parts):
            try:
                delivery = await run_slice([target for _, target in part])
            finally:
                if filing is not None:
                    await filing  # the result is this step's own again
                    filing = None
            self._fold(delivery)
            if number == len(parts) - 1:
                self._tail = delivery
            else:
                # Filed while the next slice is sent; progress is recorded only after the
                # slice's retries are queued, so it never claims a slice they were lost from.
                # The last-but-one slice's record is not written (see above).
                last_but_one = number == len(parts) - 2
                filing = asyncio.create_task(
                    self._file(delivery)
                    if last_but_one
                    else self._file_and_record(delivery, part[-1][0])
                )

    async def _file_and_record(self, delivery: Delivery, progress: str) -> None:
        await self._file(delivery)
        await self.engine.notifications.record_progress(
            self.meta.hub,
            self.meta.notification_id,
            self.key,
            self.message_id,
            self.result,
            progress,
        )

    def _fold(self, delivery: Delivery) -> None:
        self.engine.metrics.record(self.meta.hub, delivery.tally)
        for platform, outcomes in delivery.result.counts.items():
            for outcome, number in outcomes.items():
                self.result.count(platform, outcome, number)
        self.result.failures.extend(delivery.result.failures)

    async def _file(self, delivery: Delivery) -> None:
        self.result.retries += await schedule_retries(
            self.engine,
            self.meta,
            self.retry_parent or self.key,
            self.retry_attempt,
            delivery.retry,
            first_number=self.result.retries,
        )
        await self.engine.feedback.record(self.meta.hub, delivery.dead)
        self._dead += len(delivery.dead)
