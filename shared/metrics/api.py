"""``GET /{hub}/metrics`` (Manage): the hub's counts in minute, hour or day buckets, as JSON;
and ``GET /metrics``: every hub's totals as Prometheus text, for a bearer key of its own.

Query: ``from`` and ``to`` (ISO 8601; no zone means UTC), ``interval`` (``PT1M``, ``PT1H`` or
``P1D``). ``to`` defaults to now, ``from`` to an hour before ``to``; a bucket is in the answer
when it starts in [``from`` rounded down to the interval, ``to``). At most MAX_BUCKETS buckets.
Both routes first write this process's own counts, so a single host answers up to the moment;
other processes' counts arrive within their flush interval.
"""

from __future__ import annotations

import asyncio
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.auth.sas import AccessRight
from shared.engine import Engine, get_engine
from shared.errors import BadRequestError, NotFoundError, UnauthorizedError
from shared.http import HttpAnswer, HttpRequestData
from shared.metrics.series import (
    BY_ISO,
    Granularity,
    bucket_json,
    epoch_minute,
    iso_text,
    merged,
    moment_of,
    registry_size,
)
from shared.model.validation import parse_datetime
from shared.nh_wire import api_version_of
from shared.registry.api import hub_and_caller

MAX_BUCKETS = 1440
DEFAULT_SPAN = timedelta(hours=1)
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_HUBS_READ_AT_ONCE = 8


@dataclass(frozen=True)
class Window:
    granularity: Granularity
    start: datetime  # the first bucket's start
    end: datetime  # buckets start before it


def parse_window(query: Mapping[str, str], now: datetime) -> Window:
    """The buckets a query asks for; :class:`BadRequestError` names what is wrong."""
    interval = query.get("interval", Granularity.MINUTE.iso)
    granularity = BY_ISO.get(interval.strip().upper())
    if granularity is None:
        raise BadRequestError(f"interval must be one of {', '.join(BY_ISO)}.")
    end = parse_datetime(query.get("to"), "to") or now
    start = parse_datetime(query.get("from"), "from") or end - DEFAULT_SPAN
    for name, moment in (("from", start), ("to", end)):
        if not _EARLIEST <= moment < _LATEST:
            raise BadRequestError(f"{name} must be from 1970 and before 9999.")
    if start >= end:
        raise BadRequestError("from must be before to.")
    first = moment_of(granularity.start_of(epoch_minute(start)))
    buckets = math.ceil((end - first) / timedelta(minutes=granularity.minutes))
    if buckets > MAX_BUCKETS:
        raise BadRequestError(
            f"The range holds {buckets:,} buckets of {granularity.iso}; at most {MAX_BUCKETS:,} "
            "are answered: shorten it or take a longer interval."
        )
    return Window(granularity, first, end)


def metrics_json(
    hub: str,
    window: Window,
    rows: list[tuple[int, Mapping[str, float]]],
    days: list[Mapping[str, float]],
) -> dict[str, Any]:
    by_start: dict[int, list[Mapping[str, float]]] = {}
    for start, counts in rows:
        by_start.setdefault(start, []).append(counts)
    buckets = [bucket_json(start, merged(parts)) for start, parts in sorted(by_start.items())]
    return {
        "hub": hub,
        "interval": window.granularity.iso,
        "from": iso_text(window.start),
        "to": iso_text(window.end),
        "buckets": [bucket for bucket in buckets if bucket is not None],
        "registrySize": registry_size(merged(days)),
    }


async def handle_metrics(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the hub_metrics function."""
    engine = get_engine()
    hub, _ = await hub_and_caller(engine, request, AccessRight.MANAGE)
    api_version_of(request.query, request.headers)
    window = parse_window(request.query, datetime.now(UTC))
    await engine.metrics.flush()
    store = engine.metrics.store
    rows, days = await asyncio.gather(
        store.read(hub.name, window.granularity, window.start, window.end),
        store.read_all_days(hub.name),
    )
    return HttpAnswer.json(metrics_json(hub.name, window, rows, days))


def _check_key(engine: Engine, request: HttpRequestData) -> None:
    key = engine.settings.prometheus_key
    if key is None:
        raise NotFoundError("Prometheus metrics are off: set HERALD_PROMETHEUS_KEY to serve them.")
    given = (request.header("authorization") or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise UnauthorizedError(
            "GET /metrics needs 'Authorization: Bearer <HERALD_PROMETHEUS_KEY>'."
        )


async def handle_prometheus(request: HttpRequestData) -> HttpAnswer:
    """The one entry point of the prometheus_metrics function."""
    engine = get_engine()
    _check_key(engine, request)
    from shared.metrics.prometheus import CONTENT_TYPE, exposition  # only when scraped

    await engine.metrics.flush()
    store = engine.metrics.store
    names = [hub.name async for hub in engine.hubs.list_hubs()]
    slots = asyncio.Semaphore(_HUBS_READ_AT_ONCE)

    async def totals(name: str) -> Mapping[str, float]:
        async with slots:
            return merged(await store.read_all_days(name))

    counts = await asyncio.gather(*(totals(name) for name in names))
    body = exposition(dict(zip(names, counts, strict=True)))
    return HttpAnswer(200, body, {"Content-Type": CONTENT_TYPE})
