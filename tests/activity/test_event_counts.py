"""An app-reported event is counted exactly when it is marked, on real storage: a report whose
write fails part-way leaves nothing, so the app's retry counts it; reports racing for the same
counter rows each count once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import AioHttpTransport

from shared.store.events import EventStore
from support.stack import engine_for


@pytest.fixture
async def events(azurite: str) -> AsyncIterator[EventStore]:
    engine = engine_for(azurite)
    yield engine.events
    await engine.aclose()


def _fail_first_count_write(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the first request that writes a counter row fail as a dropped connection would."""
    failed: list[str] = []
    send = AioHttpTransport.send

    async def failing_send(self: AioHttpTransport, request: Any, **kwargs: Any) -> Any:
        body = request.data if isinstance(request.data, bytes | str) else b""
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        writes_count = request.method != "GET" and "count~" in request.url + text
        if writes_count and not failed:
            failed.append(request.url)
            raise ServiceRequestError("the connection dropped")
        return await send(self, request, **kwargs)

    monkeypatch.setattr(AioHttpTransport, "send", failing_send)
    return failed


async def test_a_report_that_fails_part_way_is_counted_by_its_retry(
    events: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    notification = uuid.uuid4().hex
    failed = _fail_first_count_write(monkeypatch)
    with pytest.raises(ServiceRequestError):
        await events.record("hub", notification, "device-1", "opened")
    assert failed
    assert await events.counts("hub", notification) == {}

    assert await events.record("hub", notification, "device-1", "opened")  # the app's retry
    assert not await events.record("hub", notification, "device-1", "opened")
    assert await events.counts("hub", notification) == {"opened": 1}


async def test_racing_reports_each_count_once(events: EventStore) -> None:
    notification = uuid.uuid4().hex
    devices = [f"device-{n}" for n in range(40)]  # 8 counter rows: five reports race on each
    reports = [events.record("hub", notification, d, "opened") for d in devices + devices[:10]]
    recorded = await asyncio.gather(*reports)
    assert sum(recorded) == len(devices)
    assert await events.counts("hub", notification) == {"opened": len(devices)}
