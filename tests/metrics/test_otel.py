"""The OpenTelemetry export, read back with the SDK's in-memory reader and exporter: the counts
as counters with the hub's attributes, PNS calls and HTTP answers as spans; and none of it
imported when nothing exports."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack.simulated import app_settings, hub_credentials
from emulator.pns import RunningSimulators
from shared.config import Settings
from shared.delivery import deliver
from shared.engine import Engine
from shared.errors import NotFoundError
from shared.fanout.select import Target
from shared.functions_http import serve
from shared.http import HttpAnswer, HttpRequestData
from shared.metrics import otel
from shared.pns.base import Platform, PushMessage
from support.processes import REPO
from support.stack import app_env, create_hub


@pytest.fixture
def export() -> Iterator[tuple[InMemoryMetricReader, InMemorySpanExporter]]:
    reader, spans = InMemoryMetricReader(), InMemorySpanExporter()
    built = otel.OtelExport.build(reader, lambda _: spans, batch=False)
    otel.install(built)
    yield reader, spans
    otel.install(None)
    built.shutdown()


@pytest.fixture
async def engine(azurite: str, sims: RunningSimulators, export: object) -> AsyncIterator[Engine]:
    built = Engine.build(
        Settings.from_env(app_env(azurite, **app_settings(sims.endpoints.to_json())))
    )
    yield built
    await built.aclose()


def _points(reader: InMemoryMetricReader, name: str) -> dict[tuple[Any, ...], float]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        tuple(sorted(point.attributes.items())): point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    }


async def test_deliveries_are_counters_and_each_pns_call_a_span(
    engine: Engine,
    azurite: str,
    sims: RunningSimulators,
    export: tuple[InMemoryMetricReader, InMemorySpanExporter],
) -> None:
    reader, spans = export
    credentials = hub_credentials(sims.endpoints.to_json(), sims.state_dir)
    hub = await create_hub(azurite, f"otel{uuid.uuid4().hex[:8]}", credentials=credentials)
    handles = [f"{n:064x}" for n in range(1, 4)]
    await sims.control.mark_handle("apns", handles[0], "dead")
    targets = [Target(f"d{n}", {"platform": "apns", "channel": h}) for n, h in enumerate(handles)]

    def render(target: Target, platform: Platform) -> PushMessage:
        return PushMessage(str(target.view["channel"]), b'{"aps":{"alert":"hi"}}')

    delivery = await deliver(engine.senders, hub, "n1", targets, render, datetime.now(UTC))
    engine.metrics.record(hub.name, delivery.tally)  # as a send step does with each slice

    deliveries = _points(reader, "herald.deliveries")
    by_outcome = {dict(key)["outcome"]: value for key, value in deliveries.items()}
    assert by_outcome == {"delivered": 2, "expired_handle": 1}
    assert {dict(key)["hub"] for key in deliveries} == {hub.name}
    assert list(_points(reader, "herald.pns.calls").values()) == [1]
    (call,) = [span for span in spans.get_finished_spans() if span.name == "herald.pns.send"]
    assert dict(call.attributes or {}) == {"platform": "apns", "messages": 3}


async def test_each_http_answer_is_a_span(
    export: tuple[InMemoryMetricReader, InMemorySpanExporter],
) -> None:
    _, spans = export

    async def missing(request: HttpRequestData) -> HttpAnswer:
        raise NotFoundError("Nothing here.")

    request = func.HttpRequest("GET", "http://localhost/h1/nothing?sig=secret", body=b"")
    answer = await serve(request, missing)
    assert answer.status_code == 404
    (span,) = [span for span in spans.get_finished_spans() if span.name == "herald.http"]
    assert dict(span.attributes or {}) == {"method": "GET", "path": "/h1/nothing"}  # no query


def test_nothing_of_the_exports_is_imported_when_nothing_exports() -> None:
    """A cold start and the send path pay nothing for exporters that are off."""
    program = (
        "import sys, shared.engine, shared.functions_http, shared.fanout.worker, shared.messages\n"
        "from shared.metrics.otel import span\n"
        "with span('x'):\n"
        "    pass\n"
        "exports = ('opentelemetry', 'prometheus_client', 'azure.monitor')\n"
        "loaded = [m for m in sys.modules if m.startswith(exports)]\n"
        "print(loaded or 'none')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS")}
    env["AzureWebJobsStorage"] = "UseDevelopmentStorage=true"
    ran = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == "none"
