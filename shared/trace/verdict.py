"""Why a notification did, or did not, reach one installation: decided from stored data alone.

Whether the send targeted the installation is decided by the send's own rule
(:func:`shared.fanout.select.select`) over the notification's stored request and the
installation as stored, at the time the send started; never by sending again. What became
of a targeted delivery comes from the notification's telemetry: a delivery that failed is
named there (with its push service's reason), and one that is not named went out, since a
send records every failure and no success.

The installation may have changed since the send (a tag removed, a channel expired): the
verdict says so (``changed_since``), since it reads the installation as it is now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.fanout.merge import Candidate
from shared.fanout.select import Target, select
from shared.fanout.worker import installation_platforms
from shared.model.installation import Installation
from shared.registry.view import EncodedView, index_of
from shared.sending.outcomes import NhOutcome, NotificationState
from shared.sending.request import SendRequest
from shared.tags import evaluate


class Reason(StrEnum):
    """Why a notification did not arrive on the installation."""

    NO_MATCHING_TAG = "noMatchingTag"  # the tag expression holds for none of its tag sets
    PLATFORM_MISMATCH = "platformMismatch"  # a native format of another platform
    NO_MATCHING_TEMPLATE = "noMatchingTemplate"  # a template send; it has no template
    CHANNEL_EXPIRED = "channelExpired"  # its push service had called the handle dead
    INSTALLATION_EXPIRED = "installationExpired"  # its expirationTime had passed
    NOT_ADDRESSED = "notAddressed"  # a direct send to other handles
    DROPPED_AFTER_TTL = "droppedAfterTtl"  # targeted, but the send's time to live ran out
    ABANDONED = "abandoned"  # targeted, but the step delivering it failed every attempt
    CANCELLED = "cancelled"  # a scheduled send, cancelled before it was due
    FAILED = "failed"  # targeted; its push service refused it (see the outcome)


class Verdict(StrEnum):
    DELIVERED = "delivered"  # handed to its push service, which accepted it
    FAILED = "failed"
    DROPPED = "dropped"
    PENDING = "pending"  # the send has not finished yet
    NOT_TARGETED = "notTargeted"
    UNKNOWN = "unknown"  # targeted, but the telemetry could not name every failure


@dataclass(frozen=True)
class Delivery:
    """One failed delivery to the installation, as the notification's telemetry names it."""

    outcome: NhOutcome
    reason: str  # the push service's own reason, or Herald's
    template: str | None = None


@dataclass(frozen=True)
class Trace:
    verdict: Verdict
    reasons: tuple[Reason, ...] = ()
    templates: tuple[str, ...] = ()  # the templates a template send chose
    failures: tuple[Delivery, ...] = ()
    changed_since: bool = False  # the installation was written after the send started


@dataclass(frozen=True)
class SendFacts:
    """What telemetry holds about one notification, as the trace needs it."""

    request: SendRequest
    started: datetime  # when the send started (its enqueue time until then)
    state: NotificationState
    failures: Sequence[Mapping[str, str]] = field(default_factory=tuple)  # every named one
    untold_failures: int = 0


def _tags_ok(installation: Installation, request: SendRequest) -> bool:
    expression = request.expression
    if expression is None:
        return True
    tag_sets = [installation.native_tags]
    if request.is_template:
        tag_sets = [installation.template_tags(name) for name in installation.templates]
    return any(evaluate(expression, tags) for tags in tag_sets)


def why_not_targeted(
    installation: Installation, request: SendRequest, at: datetime
) -> list[Reason]:
    """Every reason the send, at ``at``, passed the installation by (empty: it did not)."""
    if request.is_direct:
        handles = {device.handle for device in request.devices}
        platform_ok = installation.platform.value in installation_platforms(request)
        return [] if installation.handle in handles and platform_ok else [Reason.NOT_ADDRESSED]
    reasons = []
    if installation.push_channel_expired:
        reasons.append(Reason.CHANNEL_EXPIRED)
    if installation.expiration_time is not None and installation.expiration_time <= at:
        reasons.append(Reason.INSTALLATION_EXPIRED)
    if request.is_template and not installation.templates:
        reasons.append(Reason.NO_MATCHING_TEMPLATE)
    elif not request.is_template and installation.platform.value not in installation_platforms(
        request
    ):
        reasons.append(Reason.PLATFORM_MISMATCH)
    if not (request.is_template and not installation.templates) and not _tags_ok(
        installation, request
    ):
        reasons.append(Reason.NO_MATCHING_TAG)
    return reasons


def selected(installation: Installation, request: SendRequest, at: datetime) -> list[Target]:
    """What the send's own rule picks from the installation: itself for a native send, each
    matching template for a template send (a direct send names handles, not installations)."""
    candidate = Candidate(
        installation.installation_id,
        EncodedView.of(installation).data,
        dict(index_of(installation)),
    )
    targets = select(
        candidate,
        request.expression,
        platforms=installation_platforms(request),
        template_send=request.is_template,
        now=at,
    )
    return targets


def _failures_of(installation: Installation, facts: SendFacts) -> tuple[Delivery, ...]:
    def mine(failure: Mapping[str, str]) -> bool:
        if failure.get("installationId"):
            return failure["installationId"] == installation.installation_id
        return failure.get("handle") == installation.handle  # a direct send's device

    return tuple(
        Delivery(NhOutcome(f["outcome"]), f.get("reason", ""), f.get("template"))
        for f in facts.failures
        if mine(f)
    )


_FINISHED = (NotificationState.COMPLETED, NotificationState.NO_TARGET_FOUND)
_DROPPED = {
    NhOutcome.DROPPED: Reason.DROPPED_AFTER_TTL,
    NhOutcome.ABANDONED_NOTIFICATION_MESSAGES: Reason.ABANDONED,
}


def trace(installation: Installation, facts: SendFacts) -> Trace:
    """The verdict on one notification for one installation."""
    changed = installation.last_update is not None and installation.last_update > facts.started
    reasons = why_not_targeted(installation, facts.request, facts.started)
    if reasons:
        return Trace(Verdict.NOT_TARGETED, tuple(reasons), changed_since=changed)
    chosen = selected(installation, facts.request, facts.started)
    templates = tuple(t.template for t in chosen if t.template is not None)
    failures = _failures_of(installation, facts)
    dropped = tuple(dict.fromkeys(_DROPPED[f.outcome] for f in failures if f.outcome in _DROPPED))
    if dropped:
        verdict, reasons_now = Verdict.DROPPED, dropped
    elif failures:
        verdict, reasons_now = Verdict.FAILED, (Reason.FAILED,)
    elif facts.state is NotificationState.CANCELLED:
        verdict, reasons_now = Verdict.DROPPED, (Reason.CANCELLED,)
    elif facts.state is NotificationState.ABANDONED:
        verdict, reasons_now = Verdict.DROPPED, (Reason.DROPPED_AFTER_TTL,)
    elif facts.state not in _FINISHED:
        verdict, reasons_now = Verdict.PENDING, ()
    elif facts.untold_failures:
        verdict, reasons_now = Verdict.UNKNOWN, ()
    else:
        verdict, reasons_now = Verdict.DELIVERED, ()
    return Trace(verdict, reasons_now, templates, failures, changed)
