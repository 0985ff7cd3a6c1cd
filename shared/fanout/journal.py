"""What a send tells the operator's log: one line when it starts, one when it completes, and a
warning per step that had failures, with their reasons counted, never one line per device.

Completion is what telemetry computes from the notification's partition. Only a step that can
complete the send reads it: one that ends a chain (or is a retry batch) and spawned no retry
of its own, so a send of S shards costs about S partition reads more. Each reads after writing
its own row, so the step that writes last sees the send complete; of several that see it, the
one that first creates the partition's completion row logs it. A send delivered by one step
alone (a small audience's) is complete when that step is, with that step's counts: it logs
with no read and no completion row.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime

from shared.engine import Engine
from shared.pns.base import Platform
from shared.sending.outcomes import NhOutcome, NotificationState
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationMeta, StepResult
from shared.telemetry import outcome_counts, state_of

log = logging.getLogger("shared.sends")

_ENDED = (NotificationState.COMPLETED, NotificationState.NO_TARGET_FOUND)
_REASONS_SHOWN = 3


def _audience(request: SendRequest) -> str:
    if request.is_direct:
        return f"{len(request.devices)} device handle(s) directly"
    if request.tag_expression:
        return f"tags {request.tag_expression!r}"
    return "every installation"


def send_started(meta: NotificationMeta, request: SendRequest, *, how: str) -> None:
    log.info(
        "Send %s on hub %s started: %s format to %s; %s",
        meta.notification_id,
        meta.hub,
        request.format.value,
        _audience(request),
        how,
    )


def step_failures(meta: NotificationMeta, key: str, result: StepResult, dead: int) -> None:
    """One warning for the failed deliveries of one step, counted by outcome and reason."""
    if not result.failures and not dead:
        return
    reasons = Counter(
        (f["platform"], f["outcome"], f["reason"]) for f in result.failures
    ).most_common()
    shown = "; ".join(f"{n} {p} {o} ({r})" for (p, o, r), n in reasons[:_REASONS_SHOWN])
    more = len(reasons) - _REASONS_SHOWN
    log.warning(
        "Send %s on hub %s, step %s: %d delivery(ies) failed: %s%s%s",
        meta.notification_id,
        meta.hub,
        key,
        len(result.failures) + result.untold_failures,
        shown or "none named",
        f"; and {more} other reason(s)" if more > 0 else "",
        f"; {dead} dead handle(s) reported for pruning" if dead else "",
    )


async def log_if_completed(
    engine: Engine, meta: NotificationMeta, result: StepResult, *, sole_step: bool
) -> None:
    """After a step's finish: if that completed the send, say so with its counts.
    ``sole_step``: this step is the send's only one, so its result is the whole send's."""
    if not result.last or result.retries:
        return  # a chain goes on, or retries are still to come: the send is not over
    if sole_step:
        counts = {
            Platform(p): {NhOutcome(o): n for o, n in c.items()} for p, c in result.counts.items()
        }
        state = NotificationState.COMPLETED if counts else NotificationState.NO_TARGET_FOUND
        _log_completion(meta, state, counts, meta.started_at or meta.enqueued_at)
        return
    rows = await engine.notifications.read_all(meta.hub, meta.notification_id)
    state = state_of(rows, datetime.now(UTC))
    if state not in _ENDED or not await engine.notifications.claim_completion(
        meta.hub, meta.notification_id
    ):
        return
    _log_completion(
        meta, state, outcome_counts(rows), rows.meta.started_at or rows.meta.enqueued_at
    )


def _log_completion(
    meta: NotificationMeta,
    state: NotificationState,
    counts: Mapping[Platform, Mapping[NhOutcome, int]],
    started: datetime,
) -> None:
    totals: Counter[str] = Counter()
    for outcomes in counts.values():
        for outcome, number in outcomes.items():
            totals[outcome.value] += number
    counted = ", ".join(f"{outcome} {n}" for outcome, n in sorted(totals.items())) or "nothing"
    log.info(
        "Send %s on hub %s completed in %.2f s (%s): %s",
        meta.notification_id,
        meta.hub,
        (datetime.now(UTC) - started).total_seconds(),
        state.value,
        counted,
    )
