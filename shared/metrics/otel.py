"""Herald's counts and steps as OpenTelemetry metrics and traces.

Built only when something will read them: on Azure, when ``APPLICATIONINSIGHTS_CONNECTION_STRING``
is set, with the Azure Monitor exporters (Application Insights); in tests, with the SDK's
in-memory reader and exporter. Otherwise nothing of OpenTelemetry is imported, and
:func:`span` is a shared no-op, so a cold start and the send path pay nothing for it.

The providers are Herald's own, not the process-wide globals, so they never meet another
library's. Metrics mirror the stored counters (shared.metrics.series), as counters with the hub
and the series' names as attributes; spans cover an HTTP request, a send step and a PNS call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, UpDownCounter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from shared.config import AppInsightsSettings, Settings

SCOPE = "herald"
EXPORT_MILLIS = 60_000  # how often the Azure Monitor metric exporter sends

# Series prefix -> (instrument, unit, attribute names after the hub); "s" goes up and down.
_INSTRUMENTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "n": ("herald.notifications", "{notification}", ("kind", "format")),
    "d": ("herald.deliveries", "{delivery}", ("platform", "outcome")),
    "l": ("herald.pns.calls", "{call}", ("platform",)),
    "ls": ("herald.pns.time", "ms", ("platform",)),
    "r": ("herald.registry.operations", "{operation}", ("operation",)),
    "s": ("herald.registry.size.change", "{device}", ("platform",)),
    "p": ("herald.handles.pruned", "{handle}", ("platform",)),
    "e": ("herald.api.errors", "{error}", ("status",)),
    "o": ("herald.events", "{event}", ("kind",)),
}


class OtelExport:
    """One meter and one tracer, on providers this object owns."""

    def __init__(self, meters: MeterProvider, tracers: TracerProvider) -> None:
        self._meters, self._tracers = meters, tracers
        meter = meters.get_meter(SCOPE)
        self._tracer = tracers.get_tracer(SCOPE)
        self._instruments: dict[str, Counter | UpDownCounter] = {}
        for prefix, (name, unit, _) in _INSTRUMENTS.items():
            make = meter.create_up_down_counter if prefix == "s" else meter.create_counter
            self._instruments[prefix] = make(name, unit=unit)

    @classmethod
    def build(
        cls,
        reader: MetricReader,
        spans: Callable[[TracerProvider], SpanExporter],
        *,
        batch: bool = True,
    ) -> OtelExport:
        """An export to ``reader``, and to the span exporter ``spans`` makes for its provider."""
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        resource = Resource.create({"service.name": "herald"})
        tracers = TracerProvider(resource=resource)
        exporter = spans(tracers)
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        tracers.add_span_processor(processor)
        return cls(MeterProvider(metric_readers=[reader], resource=resource), tracers)

    @classmethod
    def for_azure_monitor(cls, settings: AppInsightsSettings) -> OtelExport:
        from azure.identity import ManagedIdentityCredential
        from azure.monitor.opentelemetry.exporter import (
            AzureMonitorMetricExporter,
            AzureMonitorTraceExporter,
        )
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        options: dict[str, Any] = {"connection_string": settings.connection_string}
        if settings.entra:  # the resource takes no key (DisableLocalAuth in infra/main.bicep)
            options["credential"] = ManagedIdentityCredential(client_id=settings.client_id)
        metrics = AzureMonitorMetricExporter(**options)
        reader = PeriodicExportingMetricReader(metrics, export_interval_millis=EXPORT_MILLIS)
        # The trace exporter reads the service's resource from the provider it is given.
        return cls.build(
            reader, lambda tracers: AzureMonitorTraceExporter(tracer_provider=tracers, **options)
        )

    def record(self, hub: str, counts: Mapping[str, float]) -> None:
        for key, number in counts.items():
            prefix, *names = key.split("|")
            described = _INSTRUMENTS.get(prefix)
            if described is None or len(names) != len(described[2]):
                continue  # a maximum (lx): no counter holds one
            attributes = {"hub": hub, **dict(zip(described[2], names, strict=True))}
            self._instruments[prefix].add(number, attributes)

    @contextlib.contextmanager
    def span(self, name: str, attributes: Mapping[str, Any]) -> Iterator[None]:
        with self._tracer.start_as_current_span(name, attributes=dict(attributes)):
            yield

    def shutdown(self) -> None:
        self._meters.shutdown()
        self._tracers.shutdown()


_NOTHING = contextlib.nullcontext()
_export: OtelExport | None = None
_decided = False


def install(export: OtelExport | None) -> None:
    """The process's export from now on (None: none), whatever the settings say."""
    global _export, _decided
    _export, _decided = export, True


def configure(settings: Settings) -> OtelExport | None:
    """The process's export: the one installed, else, decided once from ``settings``, Azure
    Monitor's when Application Insights is set (and metrics are on)."""
    global _export, _decided
    if not _decided:
        if settings.metrics_enabled and settings.appinsights is not None:
            _export = OtelExport.for_azure_monitor(settings.appinsights)
        _decided = True
    return _export


def current() -> OtelExport | None:
    """The process's export, decided from the process's settings if nothing decided it yet."""
    if _decided:
        return _export
    from shared.config import get_settings
    from shared.errors import ConfigurationError

    try:
        settings = get_settings()
    except ConfigurationError:
        return None  # the request's own handler says what is wrong
    return configure(settings)


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager[None]:
    """A span of ``name`` when traces are exported; else a shared no-op."""
    export = current()
    return _NOTHING if export is None else export.span(name, attributes)
