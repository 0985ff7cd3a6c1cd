"""Sending benchmark: one tag send to many devices through the whole local stack.

    .venv/bin/python bench/sending.py [--devices 100000] [--small 10000 20000] [--direct-sends 50]
                                      [--rounds 3] [--metrics-rounds 2]

Azurite, the PNS simulators (``python -m emulator.pns``) and the Functions host each run as
their own process, stopped by PID; this process seeds the devices, sends, and watches. It prints:

1. End-to-end deliveries/s of one tag send reaching ``--devices`` APNs installations, from the
   POST to the simulator's record of the last delivery, beside a baseline measured in the same
   run: the same APNs sender pushing the same handles from this process, no storage, no queues.
   ``--rounds`` pairs of the two, in alternating order, each send in a fresh host; the median
   ratio is the figure, because the shared box drifts between minutes. The CPU each process
   (host, simulators, Azurite) spent during the send shows how busy the cores were.
2. Storage requests per 1,000 devices sent, by kind, counted exactly inside the host process
   at the Azure SDK's HTTP transport (Herald's own clients and the host's queue polling alike).
3. The host's peak RSS (VmHWM) after a send to each of the ``--small`` sizes and after the one
   to ``--devices``, each in a fresh host.
4. The median POST-to-delivery latency of ``--direct-sends`` direct sends, one at a time.
5. What hub metrics and traces cost: ``--metrics-rounds`` sends to ``--devices`` in fresh
   hosts with metrics off (``HERALD_METRICS=off``), on (the default), and on with the
   OpenTelemetry export to the SDK's in-memory exporters (Application Insights' stands in
   for none here), in turn; host CPU per 1,000 deliveries and storage requests per 1,000
   devices for each, the requests counted until the last metrics flush has been written.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pns_process import cpu_seconds, on_fresh_azurite, simulators  # noqa: E402

from devstack.simulated import app_settings, hub_credentials  # noqa: E402
from emulator.azurite import Azurite  # noqa: E402
from emulator.pns.client import ControlClient  # noqa: E402
from shared.engine import settle_gc  # noqa: E402
from shared.hubs.model import Hub  # noqa: E402
from shared.model.installation import parse_installation  # noqa: E402
from shared.pns.base import OutcomeKind, Platform, PushMessage, Sender  # noqa: E402
from shared.pns.options import PnsOptions  # noqa: E402
from shared.pns.registry import build_sender  # noqa: E402
from shared.store.seeding import seed_installations  # noqa: E402
from support.processes import HostProcess, running_host  # noqa: E402
from support.stack import NhCaller, app_env, create_hub, engine_for  # noqa: E402

PAYLOAD = b'{"aps":{"alert":"Hello from the sending benchmark"}}'
TAG = "everyone"
BATCH = 1000  # the baseline's batch: one page of a walk
# Two loops share the batches, so the sender never drains between them (a send keeps pages of
# 16 shards in flight at once).
BASELINE_LOOPS = 2
COUNTS_ENV = "HERALD_BENCH_STORAGE_COUNTS"
OTEL_ENV = "HERALD_BENCH_OTEL"  # set: the host exports OpenTelemetry to in-memory exporters
METRICS_FLUSH_WAIT = 12.0  # seconds after a send until the last metrics flush is written
EMPTY_POLL = "queue get (empty)"
SEND_TIMEOUT = 900.0  # seconds any one send may take before the bench gives up
SIM_POLL = 2.0  # seconds between polls of the simulator's delivered total while a send runs


# --- inside the host process: count storage requests ---------------------------------------
def _kind(method: str, url: str) -> str:
    path = urlsplit(url).path
    if "/metrics(" in path:  # a hub metrics row (shared.store.metrics)
        return "metrics write" if method != "GET" else "metrics read"
    if "/messages" in path:  # a queue's messages
        query = urlsplit(url).query
        return {
            "POST": "queue put",
            "GET": "queue peek" if "peekonly" in query else "queue get",
            "DELETE": "queue delete",
            "PUT": "queue update",
        }.get(method, "queue other")
    if path.rstrip("/").endswith("$batch"):
        return "table batch"
    if method == "GET":
        return "table query"
    return "table write" if "Tables" not in path else "table admin"


def install_storage_counter() -> None:
    """Count every Azure SDK request this process makes, by kind, and write the counts to the
    file named by ``HERALD_BENCH_STORAGE_COUNTS`` (with this process's id appended, so several
    hosts can count side by side) twice a second. Loaded into the host by the
    ``sitecustomize`` that :func:`counting_env` writes; diagnostic only."""
    from azure.core.pipeline.transport import AioHttpTransport

    base = Path(os.environ[COUNTS_ENV])
    path = base.with_name(f"{base.name}.{os.getpid()}")
    counts: Counter[str] = Counter()
    original = AioHttpTransport.send

    async def counted(self: AioHttpTransport, request: Any, **kwargs: Any) -> Any:
        kind = _kind(request.method, request.url)
        response = await original(self, request, **kwargs)
        if kind == "queue get":  # an idle listener's poll is not work a send caused
            await response.load_body()
            if b"<QueueMessage>" not in response.body():
                kind = EMPTY_POLL
        counts[kind] += 1
        return response

    def dump() -> None:
        while True:
            snapshot = json.dumps(dict(counts.copy()))
            path.with_suffix(".tmp").write_text(snapshot)
            path.with_suffix(".tmp").replace(path)
            time.sleep(0.5)

    AioHttpTransport.send = counted
    threading.Thread(target=dump, daemon=True, name="storage-counter").start()


def install_otel_if_asked() -> None:
    """With ``HERALD_BENCH_OTEL`` set, the host exports its metrics and traces through the
    OpenTelemetry SDK to in-memory exporters: the SDK's cost without a network."""
    if not os.environ.get(OTEL_ENV):
        return
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared.metrics import otel

    spans = InMemorySpanExporter()
    otel.install(otel.OtelExport.build(InMemoryMetricReader(), lambda _: spans))


def counting_env(workdir: Path) -> dict[str, str]:
    """Env for a host that loads :func:`install_storage_counter` at start-up (and
    :func:`install_otel_if_asked`)."""
    (workdir / "sitecustomize.py").write_text(
        "import sending\nsending.install_storage_counter()\nsending.install_otel_if_asked()\n"
    )
    search = [str(workdir), str(Path(__file__).parent), str(REPO), str(REPO / "tests")]
    return {"PYTHONPATH": os.pathsep.join(search), COUNTS_ENV: str(workdir / "counts.json")}


def read_counts(host_env: Mapping[str, str], pid: int | None = None) -> Counter[str]:
    """The requests every host started with ``host_env`` has counted so far, or one host's."""
    base = Path(host_env[COUNTS_ENV])
    pattern = f"{base.name}.{pid if pid is not None else '[0-9]*'}"
    total: Counter[str] = Counter()
    for path in base.parent.glob(pattern):
        total.update(json.loads(path.read_text()))
    return total


# --- the processes ------------------------------------------------------------------------
def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


# --- seeding and sending --------------------------------------------------------------------
def device_token(n: int) -> str:
    return f"{n:064x}"


async def _seeded_hub(
    storage: str, name: str, devices: int, endpoints: Mapping[str, str], state_dir: Path
) -> Hub:
    credentials = hub_credentials(endpoints, state_dir)
    hub = await create_hub(storage, name, credentials=credentials)
    installations = [
        parse_installation(
            {
                "installationId": f"d{n:07d}",
                "platform": "apns",
                "pushChannel": device_token(n),
                "tags": [TAG],
            },
            max_tags=hub.max_expression_tags,
        )
        for n in range(devices)
    ]
    engine = engine_for(storage)
    try:
        started = time.perf_counter()
        await seed_installations(engine.tables, name, hub.shard_count, installations)
        elapsed = time.perf_counter() - started
    finally:
        await engine.aclose()
    print(f"  seeded {devices:,} installations into {name} in {elapsed:.0f} s", flush=True)
    return hub


@asynccontextmanager
async def nh_client(url: str, hub: Hub) -> AsyncIterator[tuple[NhCaller, httpx.AsyncClient]]:
    caller = NhCaller(url, hub)
    async with caller.client() as http:
        http.timeout = httpx.Timeout(60.0)
        yield caller, http


async def post_send(
    caller: NhCaller, http: httpx.AsyncClient, query: dict[str, str], **headers: str
) -> None:
    response = await http.post(
        "/messages/",
        params={"api-version": "2020-06", **query},
        content=PAYLOAD,
        headers=caller.headers(**{"Content-Type": "application/json", **headers}),
    )
    if response.status_code != 201:
        raise SystemExit(f"the send was refused: {response.status_code} {response.text}")


async def last_delivery(control: ControlClient, expected: int) -> float:
    """Wait until the APNs simulator has ``expected`` deliveries; the time of the last one."""
    deadline = time.monotonic() + SEND_TIMEOUT
    while await control.delivered_total("apns") < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"the send did not reach {expected:,} devices in time")
        await asyncio.sleep(SIM_POLL)
    records = await control.records("apns")
    return max(float(record["time"]) for record in records)


async def _tag_send(
    host: HostProcess, hub: Hub, control: ControlClient, devices: int
) -> tuple[float, float]:
    """One send to every device of ``hub``: (its start, its last delivery), wall clock."""
    await control.reset_records()
    async with nh_client(host.url, hub) as (caller, http):
        started = time.time()
        await post_send(
            caller,
            http,
            {},
            **{
                "ServiceBusNotification-Format": "apple",
                "ServiceBusNotification-Tags": TAG,
            },
        )
    return started, await last_delivery(control, devices)


def apns_sender(endpoints: Mapping[str, str], state_dir: Path) -> Sender:
    """Herald's APNs sender, as a host builds it for a hub of the simulators' credentials."""
    settings = app_settings(endpoints)
    options = PnsOptions(
        ca_file=settings["HERALD_PNS_CA_FILE"],
        allowed_test_hosts=tuple(settings["HERALD_PNS_ALLOWED_TEST_HOSTS"].split(",")),
    )
    credentials = hub_credentials(endpoints, state_dir)[Platform.APNS]
    return build_sender(Platform.APNS, credentials, options)


async def sender_alone(
    endpoints: Mapping[str, str], state_dir: Path, devices: int
) -> tuple[float, float]:
    """Deliveries/s of the APNs sender alone, from this process, over the same handles; and
    the CPU seconds per delivery it used from connecting to closing, over every message it
    sent, the first batch that connects included (building the messages, which stand for what
    the host reads from its index, left out)."""
    sender = apns_sender(endpoints, state_dir)
    messages = [PushMessage(device_token(n), PAYLOAD) for n in range(devices)]
    cpu = process_cpu()
    try:
        await sender.send(messages[:BATCH])  # connect and sign before the clock starts
        batches = iter(range(0, devices, BATCH))

        async def loop() -> None:
            for start in batches:
                outcomes = await sender.send(messages[start : start + BATCH])
                if any(o.kind is not OutcomeKind.DELIVERED for o in outcomes):
                    raise SystemExit("the baseline sender failed to deliver")

        started = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(BASELINE_LOOPS)))
        rate = devices / (time.perf_counter() - started)
    finally:
        await sender.aclose()
    return rate, (process_cpu() - cpu) / (devices + BATCH)


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def direct_latencies(
    host: HostProcess, hub: Hub, control: ControlClient, sends: int
) -> list[float]:
    await control.reset_records()
    latencies = []
    async with nh_client(host.url, hub) as (caller, http):
        for n in range(sends):
            handle = f"d1ec7{n:059x}"  # no seeded device has it
            started = time.time()
            await post_send(
                caller,
                http,
                {"direct": "true"},
                **{
                    "ServiceBusNotification-Format": "apple",
                    "ServiceBusNotification-DeviceHandle": handle,
                },
            )
            deadline = time.monotonic() + 60
            while not (found := await control.records("apns", handle)):
                if time.monotonic() > deadline:
                    raise SystemExit("a direct send was not delivered within 60 s")
                await asyncio.sleep(0.01)
            latencies.append(float(found[0]["time"]) - started)
    return latencies


# --- the run ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SendFigures:
    rate: float  # deliveries/s, POST to the last delivery
    seconds: float
    requests: Counter[str]  # storage requests by kind
    cpu: dict[str, float]  # seconds each process used from the POST to 3 s after the last delivery
    cpu_window: float  # those seconds of wall time
    peak_rss: float  # MiB


@dataclass(frozen=True)
class Stack:
    env: Mapping[str, str]  # the host's
    endpoints: Mapping[str, str]  # the simulators'
    control: ControlClient
    pids: dict[str, int]  # the simulators' and Azurite's processes, by name


async def _send_in_fresh_host(stack: Stack, hub: Hub, devices: int) -> SendFigures:
    figures, _ = await _send_in_fresh_hosts(stack, hub, devices, 1)
    return figures


async def _send_in_fresh_hosts(
    stack: Stack, hub: Hub, devices: int, count: int, *, flush_wait: float = 0.0
) -> tuple[SendFigures, list[int]]:
    """One send through ``count`` fresh hosts sharing the queues (the POST goes to the first);
    its figures, and the walk steps each host ran. Storage requests are counted ``flush_wait``
    seconds longer than CPU, for writes that follow the send (the metrics' last flush)."""
    with ExitStack() as hosts_open:
        hosts = [hosts_open.enter_context(running_host(REPO, stack.env)) for _ in range(count)]
        await asyncio.sleep(3)  # let the listeners settle into their idle polling
        pids = {f"host{n}" if count > 1 else "host": h.pid for n, h in enumerate(hosts)}
        pids.update(stack.pids)
        before, cpu = read_counts(stack.env), {k: cpu_seconds(pid) for k, pid in pids.items()}
        steps_before = [_steps(stack, host) for host in hosts]
        window = time.monotonic()
        started, last = await _tag_send(hosts[0], hub, stack.control, devices)
        await asyncio.sleep(3)  # the last steps' rows are written after their deliveries
        cpu = {k: cpu_seconds(pid) - cpu[k] for k, pid in pids.items()}
        window = time.monotonic() - window
        await asyncio.sleep(flush_wait)
        requests = read_counts(stack.env) - before
        steps = [_steps(stack, host) - b for host, b in zip(hosts, steps_before, strict=True)]
        rss = max(_peak_rss_mib(host.pid) for host in hosts)
    seconds = last - started
    return SendFigures(devices / seconds, seconds, requests, cpu, window, rss), steps


def _steps(stack: Stack, host: HostProcess) -> int:
    """Queue messages the host has settled so far: the steps of sends it ran."""
    return read_counts(stack.env, host.pid)["queue delete"]


# The metrics' settings each cost run's host gets, by the name the report gives it.
METRICS_MODES: dict[str, dict[str, str]] = {
    "metrics off": {"HERALD_METRICS": "off"},
    "metrics on": {},
    "on + OpenTelemetry": {OTEL_ENV: "1"},
}


async def _metrics_cost(
    stack: Stack, hub: Hub, devices: int, rounds: int
) -> dict[str, list[SendFigures]]:
    """``rounds`` sends in each of METRICS_MODES, each in a fresh host, the order turning
    round by round so drift on the shared box falls on every mode alike."""
    figures: dict[str, list[SendFigures]] = {mode: [] for mode in METRICS_MODES}
    for n in range(rounds):
        modes = list(METRICS_MODES) if n % 2 == 0 else list(reversed(METRICS_MODES))
        for mode in modes:
            run = replace(stack, env={**stack.env, **METRICS_MODES[mode]})
            sent, _ = await _send_in_fresh_hosts(
                run, hub, devices, 1, flush_wait=METRICS_FLUSH_WAIT
            )
            host_ms = sent.cpu["host"] * 1000 * 1000 / devices
            print(f"  {mode}: {sent.rate:,.0f}/s, host CPU {host_ms:.0f} ms per 1,000", flush=True)
            figures[mode].append(sent)
    return figures


def _report_metrics(args: argparse.Namespace, figures: dict[str, list[SendFigures]]) -> None:
    per_thousand = 1000 / args.devices

    def host_ms(sends: list[SendFigures]) -> float:
        return statistics.median(f.cpu["host"] for f in sends) * 1000 * per_thousand

    def requests(sends: list[SendFigures], kind: str | None = None) -> float:
        counted = [
            sum(n for k, n in f.requests.items() if k != EMPTY_POLL and kind in (None, k))
            for f in sends
        ]
        return statistics.median(counted) * per_thousand

    base = figures["metrics off"]
    print(
        f"\nHub metrics and traces: {args.metrics_rounds} send(s) to {args.devices:,} devices "
        "in each mode, a fresh host each (medians; storage requests without idle polls):"
    )
    for mode, sends in figures.items():
        cpu, total = host_ms(sends), requests(sends)
        more = cpu / host_ms(base) - 1
        print(
            f"  {mode:20} host CPU {cpu:5.0f} ms per 1,000 deliveries ({more:+.1%} against off),"
            f" storage {total:6.2f} per 1,000 devices, of which metrics writes "
            f"{requests(sends, 'metrics write'):.2f}"
        )


@dataclass(frozen=True)
class Round:
    send: SendFigures
    baseline: float  # deliveries/s
    baseline_cpu: float  # CPU seconds per delivery this process used for the baseline

    @property
    def ratio(self) -> float:
        return self.send.rate / self.baseline


async def _round(stack: Stack, hub: Hub, devices: int, state_dir: Path, send_first: bool) -> Round:
    """One end-to-end send in a fresh host and one baseline run, in the order given."""

    async def baseline() -> tuple[float, float]:
        await stack.control.reset_records()
        return await sender_alone(stack.endpoints, state_dir, devices)

    if send_first:
        send = await _send_in_fresh_host(stack, hub, devices)
        rate, cpu = await baseline()
    else:
        rate, cpu = await baseline()
        send = await _send_in_fresh_host(stack, hub, devices)
    print(
        f"  end to end {send.rate:,.0f}/s, baseline {rate:,.0f}/s: {send.rate / rate:.0%}",
        flush=True,
    )
    return Round(send, rate, cpu)


async def _bench(args: argparse.Namespace, azurite: Azurite, workdir: Path) -> None:
    settle_gc()  # the host's collector settings: the baseline's sender runs as the host's does
    state_dir = workdir / "pns"
    state_dir.mkdir()
    storage = azurite.connection_string
    with simulators(state_dir) as sims:
        endpoints = sims.endpoints
        control = ControlClient(endpoints["control"])
        try:
            print("Seeding (bulk, 100-row transactions):", flush=True)
            smalls = [
                await _seeded_hub(storage, f"benchsmall{size}", size, endpoints, state_dir)
                for size in args.small
            ]
            big = await _seeded_hub(storage, "benchbig", args.devices, endpoints, state_dir)
            env = {**app_env(storage, **app_settings(endpoints)), **counting_env(workdir)}
            stack = Stack(
                env, endpoints, control, {"simulators": sims.pid, "Azurite": azurite.process.pid}
            )
            rss = {}
            for size, hub in zip(args.small, smalls, strict=True):
                print(f"Tag send to {size:,} devices in a fresh host ...", flush=True)
                rss[size] = (await _send_in_fresh_host(stack, hub, size)).peak_rss
            print(
                f"Tag sends to {args.devices:,} devices, each in a fresh host, beside the "
                f"baseline (the APNs sender alone, from this process), {args.rounds} rounds:",
                flush=True,
            )
            rounds = [
                await _round(stack, big, args.devices, state_dir, send_first=n % 2 == 0)
                for n in range(args.rounds)
            ]
            rss[args.devices] = rounds[0].send.peak_rss
            print(f"Tag send to {args.devices:,} devices through 2 fresh hosts ...", flush=True)
            shared = await _send_in_fresh_hosts(stack, big, args.devices, 2)
            with running_host(REPO, env) as host:
                await direct_latencies(host, big, control, 5)  # connect and warm up
                latencies = await direct_latencies(host, big, control, args.direct_sends)
            metrics: dict[str, list[SendFigures]] = {}
            if args.metrics_rounds:
                print(
                    f"Metrics off, on, and on with OpenTelemetry, {args.metrics_rounds} round(s):"
                )
                metrics = await _metrics_cost(stack, big, args.devices, args.metrics_rounds)
        finally:
            await control.aclose()
    _report(args, rounds, rss, latencies)
    _report_hosts(args, rounds[0].send, *shared)
    if metrics:
        _report_metrics(args, metrics)


def _report(
    args: argparse.Namespace, rounds: list[Round], rss: dict[int, float], latencies: list[float]
) -> None:
    per_thousand = 1000 / args.devices
    middle = sorted(rounds, key=lambda r: r.ratio)[len(rounds) // 2]
    ratios = " / ".join(f"{r.ratio:.0%}" for r in rounds)
    print(f"\nOne tag send to {args.devices:,} APNs devices, the median of {len(rounds)} rounds:")
    print(
        f"  APNs sender alone (baseline)   {middle.baseline:8.0f} deliveries/s, "
        f"{middle.baseline_cpu * 1e6:4.0f} ms CPU per 1,000 (this process)"
    )
    send = middle.send
    print(
        f"  end to end (POST to last)      {send.rate:8.0f} deliveries/s, "
        f"{send.seconds:.1f} s, {middle.ratio:.0%} of the baseline (rounds {ratios})"
    )
    cpu = ", ".join(
        f"{name} {seconds * 1000 * per_thousand:.0f}" for name, seconds in send.cpu.items()
    )
    print(f"  CPU ms per 1,000 during the send: {cpu}")
    busy = sum(send.cpu.values()) / send.cpu_window
    print(
        f"  together {busy:.2f} of the {os.cpu_count()} cores, on average (to 3 s after the send)"
    )
    requests = rounds[0].send.requests
    total = sum(requests.values())
    print(f"\nStorage requests per 1,000 devices sent (first round): {total * per_thousand:.2f}")
    for kind, number in sorted(requests.items()):
        print(f"  {kind:14} {number * per_thousand:6.2f}  ({number:,} in all)")
    print(f"\nHost peak RSS (VmHWM), fresh host per send; change to {args.devices:,} devices:")
    for size, peak in sorted(rss.items()):
        growth = rss[args.devices] / peak - 1
        print(f"  {size:>7,} devices  {peak:6.0f} MiB  ({growth:+.0%})")
    ms = sorted(latency * 1000 for latency in latencies)
    print(f"\nDirect send, POST to delivery at the simulator, {len(ms)} sends one at a time:")
    print(f"  median {statistics.median(ms):.0f} ms, min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms")


def _report_hosts(
    args: argparse.Namespace, one: SendFigures, two: SendFigures, steps: list[int]
) -> None:
    per_thousand = 1000 / args.devices
    total = sum(steps) or 1
    shares = ", ".join(f"host{n} {count / total:.0%}" for n, count in enumerate(steps))
    print(f"\nThe same send through 2 hosts sharing the queues ({total} steps run: {shares}):")
    for name, figures in (("1 host ", one), ("2 hosts", two)):
        cpu = sum(figures.cpu.values()) * 1000 * per_thousand
        host_cpu = sum(v for k, v in figures.cpu.items() if k.startswith("host"))
        print(
            f"  {name}  {figures.rate:8.0f} deliveries/s, CPU ms per 1,000: all processes "
            f"{cpu:.0f}, hosts {host_cpu * 1000 * per_thousand:.0f}"
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--small", type=int, nargs="+", default=[10_000, 20_000])
    parser.add_argument("--direct-sends", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=3, help="end-to-end sends, each beside a baseline"
    )
    parser.add_argument(
        "--metrics-rounds",
        type=int,
        default=2,
        help="sends with hub metrics off, on, and on with OpenTelemetry, each (0: none)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(on_fresh_azurite(_bench, _arguments()))
