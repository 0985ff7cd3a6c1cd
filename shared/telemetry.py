"""Per-message telemetry: a notification's partition, read once, summed into NH's report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from shared.errors import BadRequestError
from shared.pns.base import Platform
from shared.sending.outcomes import NhOutcome, NotificationState
from shared.sending.reports import (
    MAX_FAILURES_PER_PAGE,
    FailedDelivery,
    NotificationReport,
    target_platforms_text,
)
from shared.sending.request import SendRequest
from shared.store.notifications import NotificationRows
from shared.store.notifications import NotificationState as StoredState


def state_of(rows: NotificationRows, now: datetime) -> NotificationState:
    """The notification's NH state, from its partition as read at ``now``."""
    meta = rows.meta
    if meta.state is StoredState.CANCELLED:
        return NotificationState.CANCELLED
    if meta.state is StoredState.SCHEDULED:
        return NotificationState.SCHEDULED
    if meta.state is StoredState.ABANDONED:
        return NotificationState.ABANDONED
    if meta.chains == 0:
        return NotificationState.ABANDONED if now > meta.expires_at else NotificationState.ENQUEUED
    done = [step for step in rows.steps if step.done]
    chains_done = sum(1 for step in done if step.result.last and ".r" not in step.key)
    spawned = sum(step.result.retries for step in done)
    retries_done = sum(1 for step in done if ".r" in step.key)
    if chains_done >= meta.chains and retries_done >= spawned:
        reached = any(step.result.counts for step in done)
        return NotificationState.COMPLETED if reached else NotificationState.NO_TARGET_FOUND
    return NotificationState.ABANDONED if now > meta.expires_at else NotificationState.PROCESSING


def outcome_counts(rows: NotificationRows) -> dict[Platform, dict[NhOutcome, int]]:
    counts: dict[Platform, dict[NhOutcome, int]] = {}
    for step in rows.steps:
        for platform, outcomes in step.result.counts.items():
            per = counts.setdefault(Platform(platform), {})
            for name, number in outcomes.items():
                per[NhOutcome(name)] = per.get(NhOutcome(name), 0) + number
    return counts


def _failures(rows: NotificationRows) -> list[FailedDelivery]:
    failures = [
        FailedDelivery(
            platform=Platform(f["platform"]),
            handle=f["handle"],
            outcome=NhOutcome(f["outcome"]),
            reason=f["reason"],
            installation_id=f.get("installationId") or None,
            template=f.get("template"),
        )
        for step in sorted(rows.steps, key=lambda s: s.key)
        for f in step.result.failures
    ]
    return failures


def _page(
    failures: Sequence[FailedDelivery], token: str | None
) -> tuple[list[FailedDelivery], str | None]:
    start = 0
    if token is not None:
        if not (token.isascii() and token.isdigit() and len(token) <= 9):
            raise BadRequestError("failuresToken is not one this hub issued.")
        start = int(token)
    end = start + MAX_FAILURES_PER_PAGE
    following = str(end) if end < len(failures) else None
    return list(failures[start:end]), following


def failure_total(rows: NotificationRows) -> int:
    """Every failed delivery, named or not (a step row names as many as fit)."""
    return sum(len(step.result.failures) for step in rows.steps) + rows.dropped_failures


def build_report(
    rows: NotificationRows,
    location: str,
    now: datetime,
    failures_token: str | None = None,
    *,
    events: Mapping[str, int] | None = None,
) -> NotificationReport:
    meta = rows.meta
    request = SendRequest.from_json(meta.request)
    counts = outcome_counts(rows)
    page, following = _page(_failures(rows), failures_token)
    state = state_of(rows, now)
    ended = None
    if state in (NotificationState.COMPLETED, NotificationState.NO_TARGET_FOUND):
        ended = max((s.finished_at for s in rows.steps if s.finished_at), default=None)
    return NotificationReport(
        notification_id=meta.notification_id,
        location=location,
        state=state,
        enqueue_time=meta.enqueued_at,
        start_time=meta.started_at,
        end_time=ended,
        body=request.notification_body,
        tags=request.tag_expression,
        target_platforms=target_platforms_text(request.format, counts),
        counts=counts,
        failures=page,
        failures_continuation=following,
        events=events or {},
    )
