"""Every hub's totals since its metrics began, in Prometheus' text format (prometheus-client).

The totals are the sums of the stored day buckets, which only grow, so the counters are true
Prometheus counters whichever process answers the scrape. Labels: ``hub`` and the series'
own names (shared.metrics.series).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Series prefix -> (metric name, help, label names after the hub).
_COUNTERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "n": ("herald_notifications", "Notifications received", ("kind", "format")),
    "d": ("herald_deliveries", "Deliveries by outcome", ("platform", "outcome")),
    "r": ("herald_registry_operations", "Registry operations", ("operation",)),
    "p": ("herald_handles_pruned", "Device handles pruned", ("platform",)),
    "e": ("herald_api_errors", "API error answers", ("status",)),
    "o": ("herald_events", "App-reported events", ("kind",)),
}


class _Totals:
    """A collector over stored totals: hub -> series key -> number."""

    def __init__(self, totals: Mapping[str, Mapping[str, float]]) -> None:
        self._totals = totals

    def collect(self) -> Iterator[Metric]:
        families: dict[str, CounterMetricFamily] = {
            prefix: CounterMetricFamily(name, text, labels=["hub", *labels])
            for prefix, (name, text, labels) in _COUNTERS.items()
        }
        size = GaugeMetricFamily(
            "herald_registry_size", "Installations and registrations", labels=["hub", "platform"]
        )
        latency = SummaryMetricFamily(
            "herald_pns_call_seconds", "Time for a PNS to answer a call", labels=["hub", "platform"]
        )
        for hub, counts in sorted(self._totals.items()):
            for key, number in sorted(counts.items()):
                prefix, *names = key.split("|")
                if prefix in families and len(names) == len(_COUNTERS[prefix][2]):
                    families[prefix].add_metric([hub, *names], number)
                elif prefix == "s":
                    size.add_metric([hub, *names], max(number, 0.0))
                elif prefix == "l":
                    seconds = counts.get(f"ls|{names[0]}", 0.0) / 1000
                    latency.add_metric([hub, *names], count_value=round(number), sum_value=seconds)
        yield from families.values()
        yield size
        yield latency


def exposition(totals: Mapping[str, Mapping[str, float]]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Totals(totals))
    return generate_latest(registry)
