"""Deliver a set of targets: render, send per push service, and account for every outcome.

Each target ends in exactly one place: counted as delivered or failed (failures are named with
the installation, handle and the PNS's reason), handed back for a retry (throttled or
transient), or, past the notification's time to live, counted as dropped. Dead handles are
also reported for the feedback processor.

Whatever goes wrong for one device is that device's outcome: a render that raises, a header the
HTTP client refuses, a sender that fails. Nothing one device carries can fail the step, which
would send the page again to every other device.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.fanout.select import Target
from shared.hubs.model import Hub
from shared.metrics.otel import span
from shared.metrics.series import DROPPED, Counts, delivery_key
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage, Sender
from shared.pns.options import PnsOptions
from shared.pns.registry import build_sender
from shared.sending.formats import delivery_platform
from shared.sending.outcomes import NhOutcome, nh_outcome
from shared.sending.pacing import paced
from shared.sending.payloads import NativeMessages, device_from_view, messages_for
from shared.sending.request import SendRequest
from shared.store.feedback import DeadHandle
from shared.store.notifications import StepResult

log = logging.getLogger(__name__)

# What renders one target's message for the platform that delivers it, or the outcome that
# says why it cannot be sent.
Render = Callable[[Target, Platform], PushMessage | Outcome]
NOTIFICATION_ID_PROPERTY = "heraldNotificationId"


def renderer(request: SendRequest, notification_id: str | None = None) -> Render:
    """Render targets of ``request``: its native payload, or the target's template. A template
    may name the notification's id as the property ``heraldNotificationId`` (unless the send
    gives that property itself), so an app can report opens (shared.engagement)."""
    if not request.is_template:
        return _native_renderer(request)
    if notification_id is not None:
        given = request.properties or {}
        request = replace(request, properties={NOTIFICATION_ID_PROPERTY: notification_id, **given})

    def render(target: Target, platform: Platform) -> PushMessage | Outcome:
        device = device_from_view(target.installation_id, target.view)
        if device is None:
            return Outcome(OutcomeKind.PAYLOAD_REJECTED, "", None, "no sender for this platform")
        name = target.template
        matches = None if name is None else (lambda template: template == name)
        results = messages_for(request, device, template_matches=matches)
        if not results:
            reason = f"the {request.format.value} format does not reach {target.platform}"
            return Outcome(OutcomeKind.PAYLOAD_REJECTED, device.handle, None, reason)
        result = results[0]
        return result if isinstance(result, PushMessage) else result.to_outcome()

    return render


def _native_renderer(request: SendRequest) -> Render:
    """A native send's render: the same payload for every device, so no device is parsed."""
    natives = NativeMessages(request)

    def render(target: Target, platform: Platform) -> PushMessage | Outcome:
        result = natives.for_view(platform, target.view)
        if result is None:
            reason = f"the {request.format.value} format does not reach {target.platform}"
            return Outcome(OutcomeKind.PAYLOAD_REJECTED, handle_of(target), None, reason)
        return result if isinstance(result, PushMessage) else result.to_outcome()

    return render


class SenderPool:
    """One sender per hub, platform and credential, built on first use and kept."""

    def __init__(self, options: PnsOptions) -> None:
        self._options = options
        self._senders: dict[tuple[str, Platform, str], Sender] = {}

    def get(self, hub: Hub, platform: Platform) -> Sender | None:
        credentials = hub.credentials.get(platform)
        if credentials is None:
            return None
        fingerprint = hashlib.sha256(json.dumps(credentials, sort_keys=True).encode()).hexdigest()
        key = (hub.name, platform, fingerprint)
        sender = self._senders.get(key)
        if sender is None:
            sender = self._senders[key] = build_sender(platform, credentials, self._options)
        return sender

    async def aclose(self) -> None:
        await asyncio.gather(*(sender.aclose() for sender in self._senders.values()))
        self._senders.clear()


@dataclass
class Delivery:
    result: StepResult = field(default_factory=StepResult)
    retry: list[tuple[Target, Outcome]] = field(default_factory=list)  # throttled or transient
    dead: list[DeadHandle] = field(default_factory=list)
    # For the hub's metrics: every PNS answer (retried ones too), drops, PNS call times.
    tally: Counts = field(default_factory=Counts)


def handle_of(target: Target) -> str:
    channel = target.view["channel"]
    return str(channel["endpoint"]) if isinstance(channel, dict) else str(channel)


def _platform_name(target: Target) -> str:
    platform = delivery_platform(target.platform)
    return platform.value if platform is not None else target.platform


def _fail(
    delivery: Delivery, target: Target, outcome: NhOutcome, reason: str, status: int | None
) -> None:
    platform = _platform_name(target)
    delivery.result.count(platform, outcome.value)
    failure = {
        "installationId": target.installation_id,
        "platform": platform,
        "handle": handle_of(target),
        "outcome": outcome.value,
        "reason": reason,
    }
    if target.template is not None:
        failure["template"] = target.template
    if status is not None:
        failure["status"] = str(status)
    delivery.result.failures.append(failure)


def _drop(delivery: Delivery, target: Target, outcome: NhOutcome, reason: str) -> None:
    """A target no PNS answered for: named as failed, and counted dropped."""
    _fail(delivery, target, outcome, reason, None)
    delivery.tally.add(delivery_key(_platform_name(target), DROPPED))


def _account(
    delivery: Delivery,
    target: Target,
    platform: Platform,
    outcome: Outcome,
    notification_id: str,
    now: datetime,
) -> None:
    if outcome.kind is OutcomeKind.DELIVERED:
        _count_delivered(delivery, platform)
    else:
        delivery.tally.add(delivery_key(platform.value, outcome.kind.value))
        if outcome.retryable:
            delivery.retry.append((target, outcome))
            return
        _fail(delivery, target, nh_outcome(outcome, platform), outcome.reason, outcome.status)
    if outcome.dead_handle or outcome.new_handle is not None:
        delivery.dead.append(_dead(target, outcome, notification_id, now))


def _count_delivered(delivery: Delivery, platform: Platform, number: int = 1) -> None:
    delivery.tally.add(delivery_key(platform.value, OutcomeKind.DELIVERED.value), number)
    delivery.result.count(platform.value, NhOutcome.SUCCESS.value, number)


def _dead(target: Target, outcome: Outcome, notification_id: str, now: datetime) -> DeadHandle:
    return DeadHandle(
        platform=target.platform,
        handle=handle_of(target),
        installation_id=target.installation_id,
        outcome=outcome.kind.value,
        reason=outcome.reason,
        notification_id=notification_id,
        reported_at=now,
        new_handle=outcome.new_handle,
    )


def _render_failure(target: Target, exc: Exception) -> Outcome:
    log.exception("Rendering for installation %r failed", target.installation_id)
    reason = f"Herald could not build this device's message: {type(exc).__name__}: {exc}"
    return Outcome(OutcomeKind.PAYLOAD_REJECTED, handle_of(target), None, reason)


async def deliver(
    pool: SenderPool,
    hub: Hub,
    notification_id: str,
    targets: Sequence[Target],
    render: Render,
    now: datetime,
) -> Delivery:
    delivery = Delivery()
    groups: dict[Platform, list[tuple[Target, PushMessage]]] = {}
    async for target in paced(targets):  # rendering shares the event loop with HTTP requests
        platform = delivery_platform(target.platform)
        if platform is None:
            reason = f"Herald has no sender for {target.platform}"
            _drop(delivery, target, NhOutcome.SKIPPED, reason)
            continue
        try:
            message = render(target, platform)
        except Exception as exc:  # a bug must cost this device only, never its page
            message = _render_failure(target, exc)
        if isinstance(message, Outcome):
            _drop(delivery, target, nh_outcome(message, platform), message.reason)
            continue
        groups.setdefault(platform, []).append((target, message))

    async def send(platform: Platform, batch: list[tuple[Target, PushMessage]]) -> None:
        sender = pool.get(hub, platform)
        if sender is None:
            reason = f"the hub has no {platform.value} credentials"
            for target, _ in batch:
                _drop(delivery, target, NhOutcome.SKIPPED, reason)
            return
        started = time.perf_counter()
        try:
            with span("herald.pns.send", platform=platform.value, messages=len(batch)):
                outcomes = await sender.send([message for _, message in batch])
        except Exception as exc:
            # Senders answer every message with an outcome; one that raises is a bug. Which
            # messages went out is unknown, so none is retried: each is named as failed.
            log.exception("The %s sender failed a batch of %d", platform.value, len(batch))
            reason = f"the {platform.value} sender failed: {type(exc).__name__}: {exc}"
            for target, _ in batch:
                _drop(delivery, target, NhOutcome.UNKNOWN_ERROR, reason)
            return
        delivery.tally.latency(platform.value, time.perf_counter() - started)
        delivered = 0  # plain deliveries are counted once per batch, not each on its own
        async for (target, _), outcome in paced(zip(batch, outcomes, strict=True)):
            if outcome.kind is OutcomeKind.DELIVERED and outcome.new_handle is None:
                delivered += 1
            else:
                _account(delivery, target, platform, outcome, notification_id, now)
        if delivered:
            _count_delivered(delivery, platform, delivered)

    await asyncio.gather(*(send(platform, batch) for platform, batch in groups.items()))
    return delivery


def give_up(delivery: Delivery) -> None:
    """The retries are spent: what still needs one counts as failed, with its last outcome."""
    for target, outcome in delivery.retry:
        platform = delivery_platform(target.platform) or Platform.APNS
        _fail(delivery, target, nh_outcome(outcome, platform), outcome.reason, outcome.status)
    delivery.retry.clear()


def abandon(targets: Sequence[Target], outcome: NhOutcome, reason: str) -> Delivery:
    """Targets that will never be sent (past the time to live, or their step gave up):
    each counted and named with ``reason``."""
    delivery = Delivery()
    for target in targets:
        _drop(delivery, target, outcome, reason)
    return delivery
