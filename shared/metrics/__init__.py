"""Hub metrics: counts per hub in minute, hour and day buckets, written without a storage
write per count (shared.metrics.recorder, shared.store.metrics), answered by
``GET /{hub}/metrics`` (shared.metrics.api) and ``GET /metrics`` for Prometheus
(shared.metrics.prometheus), and exported through OpenTelemetry (shared.metrics.otel).

Code that does the work counts through its engine's recorder, ``engine.metrics``, with the
series keys of shared.metrics.series. :func:`count_event` is the one call for app-reported
events (a notification opened or acted on).
"""

from __future__ import annotations

from shared.metrics.series import event_key


async def count_event(hub: str, kind: str) -> None:
    """Count one app-reported event of ``kind`` (``opened``, ``actioned``, ...) for ``hub``."""
    from shared.engine import get_engine  # the engine builds a recorder: import it when used

    get_engine().metrics.count(hub, event_key(kind))


__all__ = ["count_event"]
