"""The contract every PNS sender implements, and the one outcome taxonomy they all map to.

A sender takes a batch of messages already rendered for its platform and answers one
:class:`Outcome` per message, in order. A dead handle is a value, never an exception: senders
raise only for programming errors. Retries belong to the queue, so a sender never sleeps in a
loop; it reports ``throttled`` or ``transient`` and the caller re-queues.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, Protocol


class Platform(StrEnum):
    """The push services Herald delivers to, named as NH names installation platforms."""

    APNS = "apns"
    FCMV1 = "fcmv1"
    WNS = "wns"
    BROWSER = "browser"
    ADM = "adm"
    BAIDU = "baidu"
    XIAOMI = "xiaomi"


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    EXPIRED_HANDLE = "expired_handle"  # the PNS says the handle is gone: prune it
    INVALID_HANDLE = "invalid_handle"  # the handle was never valid for these credentials
    THROTTLED = "throttled"  # retry after `retry_after` seconds
    TRANSIENT = "transient"  # a server or network error: retry with backoff
    PAYLOAD_REJECTED = "payload_rejected"  # the message itself is wrong: retrying cannot help
    CREDENTIALS_REJECTED = "credentials_rejected"  # the hub's PNS credentials are bad


RETRYABLE = frozenset({OutcomeKind.THROTTLED, OutcomeKind.TRANSIENT})
DEAD_HANDLE = frozenset({OutcomeKind.EXPIRED_HANDLE, OutcomeKind.INVALID_HANDLE})


@dataclass(frozen=True, slots=True)
class WebPushKeys:
    """A browser subscription's keys, both base64url as the browser reports them."""

    p256dh: str
    auth: str


class PushMessage(NamedTuple):
    """One notification, already rendered, for one device handle.

    ``handle`` is the device token (APNs), registration token (FCM), registration id (ADM,
    Xiaomi), channel id (Baidu, or NH's ``{userId}-{channelId}``), channel URI (WNS) or
    endpoint URL (Web Push). ``headers`` are the NH pass-through headers
    (``apns-*``, ``X-WNS-*``) and the sender's per-message options (such as Web Push ``TTL``).

    A tuple: a send builds one per device, at under half a frozen dataclass's cost.
    """

    handle: str
    payload: bytes
    headers: Mapping[str, str] = MappingProxyType({})
    web_push_keys: WebPushKeys | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the PNS answered for one message, in Herald's taxonomy and in its own words."""

    kind: OutcomeKind
    handle: str
    status: int | None  # the PNS's HTTP status; None when no response came back
    reason: str  # the PNS's own reason text, or what went wrong on the way
    retry_after: float | None = None  # seconds, for THROTTLED
    new_handle: str | None = None  # a replacement handle the PNS issued (ADM)

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def dead_handle(self) -> bool:
        return self.kind in DEAD_HANDLE


class Sender(Protocol):
    """One PNS, one set of credentials. Built once per process and reused."""

    platform: Platform

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        """Deliver each message; answer one outcome per message, in the same order."""
        ...

    async def aclose(self) -> None:
        """Close pooled connections. Idempotent."""
        ...
