"""NH's outcome and state names, and how Herald's outcome taxonomy maps onto them.

:class:`OutcomeKind` to NH outcome ``Name`` (telemetry ``*OutcomeCounts`` and test-send results):

==========================  ==================================================================
``delivered``               ``Success``
``expired_handle``          ``ExpiredChannel``
``invalid_handle``          ``BadChannel`` for URL channels (WNS, Web Push), else ``WrongToken``
``throttled``               ``Throttled``
``transient``               ``PnsUnreachable`` (no answer), ``PnsUnavailable`` (503), else
                            ``PnsServerError``
``payload_rejected``        ``InvalidNotificationSize`` (413, or over the limit before sending),
                            else ``PnsInterfaceError``
``credentials_rejected``    ``InvalidCredentials``
==========================  ==================================================================

Outcomes Herald decides without a PNS answer use the other names directly: ``Dropped`` for
targets still retrying when the notification's TTL ran out, ``Skipped`` for devices of a platform
the hub has no credentials for.
"""

from __future__ import annotations

from enum import StrEnum

from shared.pns.base import Outcome, OutcomeKind, Platform

_SIZE_MARKS = ("bytes, limit", "InvalidNotificationSize")  # the senders' and payloads' texts


class NhOutcome(StrEnum):
    """NH's documented outcome names, ``Success`` first; emitted in this order."""

    SUCCESS = "Success"
    ABANDONED_NOTIFICATION_MESSAGES = "AbandonedNotificationMessages"
    BAD_CHANNEL = "BadChannel"
    CHANNEL_DISCONNECTED = "ChannelDisconnected"
    CHANNEL_THROTTLED = "ChannelThrottled"
    DROPPED = "Dropped"
    EXPIRED_CHANNEL = "ExpiredChannel"
    INVALID_CREDENTIALS = "InvalidCredentials"
    INVALID_NOTIFICATION_SIZE = "InvalidNotificationSize"
    NO_TARGETS = "NoTargets"
    PNS_INTERFACE_ERROR = "PnsInterfaceError"
    PNS_SERVER_ERROR = "PnsServerError"
    PNS_UNAVAILABLE = "PnsUnavailable"
    PNS_UNREACHABLE = "PnsUnreachable"
    SKIPPED = "Skipped"
    THROTTLED = "Throttled"
    UNKNOWN_ERROR = "UnknownError"
    WRONG_TOKEN = "WrongToken"


class NotificationState(StrEnum):
    """A notification's state, in NH's names (the .NET enum spells ``Cancelled``)."""

    ENQUEUED = "Enqueued"
    SCHEDULED = "Scheduled"  # XML says Enqueued: .NET's enum has no Scheduled
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    ABANDONED = "Abandoned"  # not finished within its TTL (NH: 30 minutes)
    NO_TARGET_FOUND = "NoTargetFound"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"

    @property
    def wire_name(self) -> str:
        """The name the XML carries: one that .NET's DataContractSerializer can read."""
        return NotificationState.ENQUEUED.value if self is NotificationState.SCHEDULED else self


_BY_KIND = {
    OutcomeKind.DELIVERED: NhOutcome.SUCCESS,
    OutcomeKind.EXPIRED_HANDLE: NhOutcome.EXPIRED_CHANNEL,
    OutcomeKind.THROTTLED: NhOutcome.THROTTLED,
    OutcomeKind.CREDENTIALS_REJECTED: NhOutcome.INVALID_CREDENTIALS,
}
_URL_CHANNELS = frozenset({Platform.WNS, Platform.BROWSER})


def nh_outcome(outcome: Outcome, platform: Platform) -> NhOutcome:
    """The NH outcome name for one final outcome on one platform (table in the module doc)."""
    named = _BY_KIND.get(outcome.kind)
    if named is not None:
        return named
    if outcome.kind is OutcomeKind.INVALID_HANDLE:
        return NhOutcome.BAD_CHANNEL if platform in _URL_CHANNELS else NhOutcome.WRONG_TOKEN
    if outcome.kind is OutcomeKind.TRANSIENT:
        if outcome.status is None:
            return NhOutcome.PNS_UNREACHABLE
        return NhOutcome.PNS_UNAVAILABLE if outcome.status == 503 else NhOutcome.PNS_SERVER_ERROR
    if outcome.status == 413 or any(mark in outcome.reason for mark in _SIZE_MARKS):
        return NhOutcome.INVALID_NOTIFICATION_SIZE
    return NhOutcome.PNS_INTERFACE_ERROR
