"""Template cost: API latency on a host while it renders a worst-case template send.

    .venv/bin/python bench/template_latency.py [--ordinary 1000] [--worst 1000] [--rounds 5]
                                               [--clients 2] [--idle-seconds 5]
                                               [--topology one split ...]

Azurite, the PNS simulators (``python -m emulator.pns``) and the Functions host each run as
their own process, stopped by PID. ``--ordinary`` APNs installations with a one-expression
template are seeded in bulk; ``--worst`` more register through the Listen key (8 clients at
once), each with the largest templates the limits allow (shared.model.templates
.TEMPLATE_LIMITS), made of ``$(a)`` terms and padded to the body limit with text that differs
per device, so that no compiled template is shared. Each round:

1. *CPU*: a template send to the ordinary devices, then one to all (the worst case), with the
   largest property the send takes (``a``, filling the 64 KB body); the host's CPU from the POST
   until the telemetry says Completed, with nothing else running.
2. *Latency*: ``--clients`` loops, each taking turns at a PUT (a changed push variable, so it
   writes) and a GET of an installation of its own through the Listen key, and a GET signed
   with a wrong key, which the host answers 401 without a storage call, one request at a time:
   first for ``--idle-seconds`` with no send, then during the ordinary and the worst-case send.

Each ``--topology`` runs its rounds in turn against the same storage: ``one``, a single host
serving the API and running the queue work on one event loop (Consumption, a container,
``make run``); ``split``, an API host whose queue and timer functions are disabled beside a
worker host whose HTTP functions are (``AzureWebJobs.<name>.Disabled``), as Flex Consumption's
per-function scaling places them, or two apps from one package.

It prints, per topology, p50 and p99 per operation and phase over all rounds, the worst case's
p99 beside the idle p99 of the same run (the goal is at most 2x), and the hosts' CPU of both
sends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pns_process import cpu_seconds, simulators  # noqa: E402

from devstack.simulated import app_settings, hub_credentials  # noqa: E402
from emulator.app import discover  # noqa: E402
from emulator.azurite import Azurite  # noqa: E402
from shared.hubs.model import Hub  # noqa: E402
from shared.model.installation import parse_installation  # noqa: E402
from shared.model.templates import TEMPLATE_LIMITS  # noqa: E402
from shared.sending.request import MAX_BODY  # noqa: E402
from shared.store.seeding import seed_installations  # noqa: E402
from support.processes import HostProcess, running_host  # noqa: E402
from support.stack import NhCaller, app_env, create_hub, engine_for  # noqa: E402

ORDINARY_TEMPLATE = '{"aps":{"alert":"$(msg)"}}'
ORDINARY, WORST = "ordinary", "worst"
SEND_TIMEOUT = 300.0
REGISTERING_CLIENTS = 8
PHASES = ("idle", "ordinary send", "worst-case send")
# GET 401: a GET signed with the wrong key, answered by the host alone (the hub is cached), so
# it shows the host's own responsiveness apart from the storage emulator's.
OPERATIONS = ("GET", "PUT", "GET 401")
TOPOLOGIES = {
    "one": "one host: API and queue work on one event loop",
    "split": "split: an API host beside a worker host",
}


def _token(n: int) -> str:
    return f"{n:064x}"


def worst_templates(device: int) -> dict[str, dict[str, str]]:
    """The largest templates one installation may carry, every expression a ``$(a)``."""
    limits = TEMPLATE_LIMITS
    count = min(
        limits.installation_expressions // limits.expressions,
        limits.installation_bodies // limits.body,
    )
    templates = {}
    for n in range(count):
        head = '{"aps":{"alert":"' + "$(a)" * limits.expressions
        tail = '"}}'
        pad = f" {device}-{n} " * limits.body
        templates[f"worst{n}"] = {"body": head + pad[: limits.body - len(head) - len(tail)] + tail}
    return templates


def largest_properties() -> bytes:
    """``msg`` and ``a``, with ``a`` as long as the 64 KB body allows."""
    empty = json.dumps({"msg": "hello", "a": ""}).encode()
    return json.dumps({"msg": "hello", "a": "x" * (MAX_BODY - len(empty))}).encode()


# --- setting up -----------------------------------------------------------------------------
def _ordinary(n: int) -> dict[str, object]:
    return {
        "installationId": f"o{n:06d}",
        "platform": "apns",
        "pushChannel": _token(n),
        "tags": [ORDINARY],
        "templates": {"main": {"body": ORDINARY_TEMPLATE}},
    }


def _worst(n: int) -> dict[str, object]:
    return {
        "installationId": f"w{n:06d}",
        "platform": "apns",
        "pushChannel": _token(10_000_000 + n),
        "tags": [WORST],
        "templates": worst_templates(n),
    }


async def _seed(storage: str, hub: Hub, bodies: list[dict[str, object]]) -> None:
    installations = [parse_installation(body, max_tags=hub.max_tags) for body in bodies]
    engine = engine_for(storage)
    try:
        await seed_installations(engine.tables, hub.name, hub.shard_count, installations)
    finally:
        await engine.aclose()


async def _register_all(listen: NhCaller, count: int) -> None:
    """The worst-case devices, PUT through the Listen key by several clients at once."""
    pending = iter(range(count))
    async with listen.client() as http:
        http.timeout = httpx.Timeout(60.0)

        async def client() -> None:
            for n in pending:
                body = _worst(n)
                path = f"/installations/{body['installationId']}"
                response = await http.put(path, json=body, headers=listen.headers())
                if response.status_code != 200:
                    raise SystemExit(f"a worst-case device was refused: {response.text}")

        await asyncio.gather(*(client() for _ in range(REGISTERING_CLIENTS)))


# --- sending --------------------------------------------------------------------------------
async def _send(http: httpx.AsyncClient, caller: NhCaller, tags: str, body: bytes) -> str:
    headers = {
        "ServiceBusNotification-Format": "template",
        "ServiceBusNotification-Tags": tags,
        "Content-Type": "application/json",
    }
    response = await http.post("/messages/", content=body, headers=caller.headers(**headers))
    if response.status_code != 201:
        raise SystemExit(f"the send was refused: {response.status_code} {response.text}")
    return httpx.URL(response.headers["Location"]).path.split("/")[3]


async def _finished(http: httpx.AsyncClient, caller: NhCaller, notification: str) -> dict[str, int]:
    """Wait for the send to complete; its APNs outcome counts."""
    deadline = time.monotonic() + SEND_TIMEOUT
    headers = caller.headers(Accept="application/json")
    while time.monotonic() < deadline:
        response = await http.get(f"/messages/{notification}", headers=headers)
        details = response.json()
        if details["state"] in ("Completed", "Abandoned", "NoTargetFound"):
            return {c["state"]: c["count"] for c in details.get("apnsOutcomeCounts", [])}
        await asyncio.sleep(0.1)
    raise SystemExit(f"the send {notification} did not finish in time")


@dataclass(frozen=True)
class SendFigures:
    seconds: float
    host_cpu: float
    outcomes: dict[str, int]


def _hosts_cpu(hosts: list[HostProcess]) -> float:
    return sum(cpu_seconds(host.pid) for host in hosts)


async def _timed_send(
    hosts: list[HostProcess], http: httpx.AsyncClient, caller: NhCaller, tags: str
) -> SendFigures:
    cpu = _hosts_cpu(hosts)
    started = time.perf_counter()
    notification = await _send(http, caller, tags, largest_properties())
    outcomes = await _finished(http, caller, notification)
    return SendFigures(time.perf_counter() - started, _hosts_cpu(hosts) - cpu, outcomes)


# --- the latency probe ----------------------------------------------------------------------
@dataclass
class Probe:
    """Clients that GET and PUT their own installations, one request at a time each."""

    listen: NhCaller
    phase: str = "idle"
    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    async def run(self, http: httpx.AsyncClient, client: int, stop: asyncio.Event) -> None:
        installation_id = f"probe{client}"
        body = {
            "installationId": installation_id,
            "platform": "apns",
            "pushChannel": _token(20_000_000 + client),
            "tags": ["probe"],
        }
        path = f"/installations/{installation_id}"
        await http.put(path, json=body, headers=self.listen.headers())
        turn = 0
        while not stop.is_set():
            turn += 1
            body["pushVariables"] = {"turn": str(turn)}
            await self._timed("PUT", http.put(path, json=body, headers=self.listen.headers()))
            await self._timed("GET", http.get(path, headers=self.listen.headers()))
            wrong = {"Authorization": self.listen.token(key="not-the-key")}
            await self._timed("GET 401", http.get(path, headers=wrong), expect=401)

    async def _timed(self, op: str, request: Awaitable[httpx.Response], expect: int = 200) -> None:
        phase = self.phase
        started = time.perf_counter()
        try:
            response = await request  # the request starts here
            status = response.status_code
        except httpx.HTTPError as exc:
            self.errors.append(f"{op} during {phase}: {exc!r}")
            return
        elapsed = time.perf_counter() - started
        if status != expect:
            self.errors.append(f"{op} during {phase}: {status} {response.text[:200]}")
        self.samples.setdefault((op, phase), []).append(elapsed)


@asynccontextmanager
async def _probing(url: str, probe: Probe, clients: int) -> AsyncIterator[None]:
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"{url}/{probe.listen.hub.name}",
        params={"api-version": "2020-06"},
        limits=limits,
        timeout=60.0,
    ) as http:
        tasks = [asyncio.create_task(probe.run(http, n, stop)) for n in range(clients)]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)


# --- the run --------------------------------------------------------------------------------
@dataclass
class Figures:
    ordinary: list[SendFigures] = field(default_factory=list)
    worst: list[SendFigures] = field(default_factory=list)


async def _round(
    hosts: list[HostProcess],
    caller: NhCaller,
    probe: Probe,
    args: argparse.Namespace,
    figures: Figures,
) -> None:
    """``hosts[0]`` takes the API's requests; all of them run the queue work between them."""
    async with caller.client() as http:
        http.timeout = httpx.Timeout(60.0)
        figures.ordinary.append(await _timed_send(hosts, http, caller, ORDINARY))
        figures.worst.append(await _timed_send(hosts, http, caller, f"{ORDINARY} || {WORST}"))
        print(
            f"  quiet sends: ordinary {figures.ordinary[-1].host_cpu:.2f} s host CPU, "
            f"worst case {figures.worst[-1].host_cpu:.2f} s",
            flush=True,
        )
        async with _probing(hosts[0].url, probe, args.clients):
            probe.phase = "idle"
            await asyncio.sleep(args.idle_seconds)
            probe.phase = "ordinary send"
            await _timed_send(hosts, http, caller, ORDINARY)
            probe.phase = "worst-case send"
            await _timed_send(hosts, http, caller, f"{ORDINARY} || {WORST}")


def _quantile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


def _report(args: argparse.Namespace, topology: str, probe: Probe, figures: Figures) -> None:
    print(
        f"\n[{TOPOLOGIES[topology]}] API latency through the Listen key, {args.clients} clients, "
        f"{args.rounds} rounds ({args.ordinary:,} ordinary devices, {args.worst:,} worst-case):"
    )
    print(f"  {'operation':8} {'phase':16} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for op in OPERATIONS:
        for phase in PHASES:
            samples = probe.samples.get((op, phase), [])
            if len(samples) < 2:
                print(f"  {op:8} {phase:16} {len(samples):8}")
                continue
            p50, p99 = _quantile(samples, 50), _quantile(samples, 99)
            print(f"  {op:8} {phase:16} {len(samples):8} {p50:8.1f} {p99:8.1f}")
    print("\nWorst-case send p99 beside idle p99 (goal: at most 2x):")
    for op in OPERATIONS:
        idle = probe.samples.get((op, "idle"), [])
        worst = probe.samples.get((op, "worst-case send"), [])
        if len(idle) >= 2 and len(worst) >= 2:
            ratio = _quantile(worst, 99) / _quantile(idle, 99)
            print(
                f"  {op}: {_quantile(worst, 99):.1f} ms against {_quantile(idle, 99):.1f} ms, "
                f"{ratio:.2f}x"
            )
    print(f"  failed requests: {len(probe.errors)}")
    for error in probe.errors[:5]:
        print(f"    {error}")
    print("\nHosts' CPU per send, nothing else running (median of the rounds):")
    for name, sends in (("ordinary", figures.ordinary), ("worst case", figures.worst)):
        cpu = statistics.median(s.host_cpu for s in sends)
        seconds = statistics.median(s.seconds for s in sends)
        print(
            f"  {name:11} {cpu:6.2f} s CPU, {seconds:6.2f} s POST to Completed, {sends[0].outcomes}"
        )


def _topology_envs(topology: str, env: dict[str, str]) -> list[dict[str, str]]:
    """The hosts' settings: the API host's first."""
    if topology == "one":
        return [env]
    functions = discover(REPO, "")

    def disabled(http: bool) -> dict[str, str]:
        names = [f.name for f in functions if (f.trigger.type == "httpTrigger") is http]
        return {f"AzureWebJobs.{name}.Disabled": "true" for name in names}

    return [{**env, **disabled(http=False)}, {**env, **disabled(http=True)}]


async def _bench(args: argparse.Namespace, azurite: Azurite, workdir: Path) -> None:
    state_dir = workdir / "pns"
    state_dir.mkdir()
    storage = azurite.connection_string
    results: dict[str, tuple[Probe, Figures]] = {}
    with simulators(state_dir) as sims:
        credentials = hub_credentials(sims.endpoints, state_dir)
        hub = await create_hub(storage, "templatebench", credentials=credentials)
        await _seed(storage, hub, [_ordinary(n) for n in range(args.ordinary)])
        env = app_env(storage, **app_settings(sims.endpoints))
        for topology in args.topology:
            with ExitStack() as running:
                hosts = [
                    running.enter_context(running_host(REPO, host_env))
                    for host_env in _topology_envs(topology, env)
                ]
                caller = NhCaller(hosts[0].url, hub)
                if not results:
                    await _register_worst(caller, args)
                print(f"{TOPOLOGIES[topology]}:", flush=True)
                probe, figures = Probe(caller.as_listen()), Figures()
                for n in range(args.rounds):
                    print(f"Round {n + 1} of {args.rounds}:", flush=True)
                    await _round(hosts, caller, probe, args, figures)
                results[topology] = probe, figures
    for topology, (probe, figures) in results.items():
        _report(args, topology, probe, figures)


async def _register_worst(caller: NhCaller, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    await _register_all(caller.as_listen(), args.worst)
    print(
        f"{args.ordinary:,} ordinary devices seeded; {args.worst:,} worst-case devices "
        f"registered through the Listen key in {time.perf_counter() - started:.0f} s, "
        f"{len(worst_templates(0))} templates each of {TEMPLATE_LIMITS.expressions} "
        f"$(a) terms in {TEMPLATE_LIMITS.body:,} characters; property 'a' of "
        f"{len(largest_properties()) // 1000} KB",
        flush=True,
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ordinary", type=int, default=1000)
    parser.add_argument("--worst", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument("--topology", nargs="+", choices=list(TOPOLOGIES), default=list(TOPOLOGIES))
    return parser.parse_args()


async def main() -> None:
    args = _arguments()
    azurite = await Azurite.start(REPO)
    try:
        with tempfile.TemporaryDirectory(prefix="herald-bench-") as workdir:
            await _bench(args, azurite, Path(workdir))
    finally:
        azurite.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
