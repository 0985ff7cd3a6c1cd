"""``GET /health``: the version, and whether Azure Storage answers."""

from __future__ import annotations

from shared import __version__
from shared.engine import get_engine
from shared.http import HttpAnswer, HttpRequestData
from shared.store.probe import probe_storage


async def check_health(_: HttpRequestData) -> HttpAnswer:
    probe = await probe_storage(get_engine().storage)
    storage: dict[str, object] = {"reachable": probe.reachable, "latencyMs": probe.latency_ms}
    if probe.error is not None:
        storage["error"] = probe.error
    body = {
        "status": "healthy" if probe.reachable else "unhealthy",
        "version": __version__,
        "storage": storage,
    }
    return HttpAnswer.json(body, status=200 if probe.reachable else 503)
