"""Turning a PNS answer into an :class:`Outcome` through a per-PNS table.

Each PNS module owns one table of ``(status, reason) -> OutcomeKind``; ``reason`` ``None`` is the
row for a status whatever its reason. A status no table names falls back by class: a server
error is transient, anything else is a message the PNS will not take (never a dead handle,
which must be said explicitly by a row).
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC

from shared.pns.base import Outcome, OutcomeKind

StatusTable = Mapping[tuple[int, str | None], OutcomeKind]


class TransportError(Exception):
    """No answer came back: connect failure, connection lost, GOAWAY before processing, timeout."""


def classify(table: StatusTable, status: int, reason: str | None) -> OutcomeKind:
    kind = table.get((status, reason))
    if kind is None:
        kind = table.get((status, None))
    if kind is None:
        kind = OutcomeKind.TRANSIENT if status >= 500 else OutcomeKind.PAYLOAD_REJECTED
    return kind


# (the PNS's own result code, its reason text or None) -> outcome, for services that answer
# every request with a code in the body (Baidu, Xiaomi) rather than with an HTTP status.
CodeTable = Mapping[tuple[int, str | None], OutcomeKind]


def classify_code(table: CodeTable, code: int, reason: str | None) -> OutcomeKind:
    """A code no row names is a message the service will not take: retrying cannot help."""
    kind = table.get((code, reason))
    if kind is None:
        kind = table.get((code, None), OutcomeKind.PAYLOAD_REJECTED)
    return kind


def outcome(
    table: StatusTable,
    handle: str,
    status: int,
    reason: str | None,
    *,
    detail: str = "",
    key: str | None = None,
    retry_after: float | None = None,
    new_handle: str | None = None,
) -> Outcome:
    """One outcome. The table is looked up by ``key`` (default: ``reason``); ``detail`` is
    extra PNS text kept next to the reason for operators."""
    text = reason or ""
    if detail:
        text = f"{text}: {detail}" if text else detail
    return Outcome(
        kind=classify(table, status, key or reason),
        handle=handle,
        status=status,
        reason=text or f"HTTP {status}",
        retry_after=retry_after,
        new_handle=new_handle,
    )


def local_reject(handle: str, kind: OutcomeKind, reason: str) -> Outcome:
    """An outcome decided before any request was made (bad handle, payload over the limit)."""
    return Outcome(kind=kind, handle=handle, status=None, reason=reason)


def transient(handle: str, reason: str) -> Outcome:
    """No usable answer came back (connection lost, timeout, GOAWAY): try again later."""
    return Outcome(kind=OutcomeKind.TRANSIENT, handle=handle, status=None, reason=reason)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
