"""Registry benchmarks: storage requests per operation, and registration throughput.

    .venv/bin/python bench/registry.py [--clients 16] [--registrations 1000] [--tags 3]
                                       [--rounds 3]

1. Storage requests per operation, counted exactly at the HTTP pipeline of the Storage clients
   while the installations and registrations API handlers run in this process against Azurite.
2. Installations and NH registrations (Atom XML, ``PUT /{hub}/registrations/{id}``) per second
   with ``--clients`` concurrent clients through the local Functions host (a separate process),
   each beside the ceiling Azurite allows: its raw upsert rate (same concurrency) divided by the
   writes per installation or registration. The box is shared and drifts from minute to minute,
   so each of ``--rounds`` rounds measures the baseline and both kinds back to back, and the
   figure is the median of the rounds' ratios. CPU per registration is read from /proc for the host
   and Azurite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pns_process import cpu_seconds  # noqa: E402

from emulator.azurite import Azurite  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.http import HttpRequestData  # noqa: E402
from shared.hubs.model import Hub  # noqa: E402
from shared.registrations.api import handle_registrations  # noqa: E402
from shared.registry.api import handle_installations  # noqa: E402
from shared.store.clients import StorageClients  # noqa: E402
from support.processes import HostProcess, running_host  # noqa: E402
from support.stack import NhCaller, app_env  # noqa: E402


class RequestCounter:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, request: Any) -> None:
        method = request.http_request.method
        self.counts["read" if method == "GET" else "write"] += 1

    def take(self) -> dict[str, int]:
        taken = dict(self.counts)
        self.counts.clear()
        return {"read": taken.get("read", 0), "write": taken.get("write", 0)}


def counting_engine(storage: str, counter: RequestCounter) -> Engine:
    settings = Settings.from_env(app_env(storage))
    clients = StorageClients.build(settings.storage, raw_request_hook=counter)
    return Engine.build(settings, storage=clients)


async def count_operations(storage: str, tags: int) -> dict[str, dict[str, int]]:
    counter = RequestCounter()
    engine = counting_engine(storage, counter)
    hub = await engine.hubs.create_hub(Hub.new("opsbench"))
    caller = NhCaller("http://localhost", hub)

    import shared.engine as engine_module

    engine_module._engines[asyncio.get_running_loop()] = engine

    async def call(method: str, installation_id: str, body: object) -> int:
        request = HttpRequestData(
            method=method,
            url=f"http://localhost/opsbench/installations/{installation_id}",
            headers={"authorization": caller.token()},
            query={},
            route={"hub": "opsbench", "installationId": installation_id},
            body=json.dumps(body).encode(),
        )
        answer = await handle_installations(request)
        return answer.status

    async def register(registration_id: str, body: bytes) -> int:
        request = HttpRequestData(
            method="PUT",
            url=f"http://localhost/opsbench/registrations/{registration_id}",
            headers={"authorization": caller.token()},
            query={},
            route={"hub": "opsbench", "registrationId": registration_id},
            body=body,
        )
        answer = await handle_registrations(request)
        return answer.status

    body = {"installationId": "warm", "platform": "apns", "pushChannel": "00fe", "tags": ["w"]}
    await call("PUT", "warm", body)  # warms the hub cache and creates the tables
    counter.take()
    new = dict(body, installationId="dev", tags=[f"tag{i}" for i in range(tags)])
    results = {}
    assert await call("PUT", "dev", new) == 200
    results[f"new installation, {tags} tags"] = counter.take()
    assert await call("PUT", "dev", new) == 200
    results["unchanged re-registration"] = counter.take()
    assert await call("PATCH", "dev", [{"op": "add", "path": "/tags", "value": "extra"}]) == 200
    results["PATCH adding one tag"] = counter.take()
    xml = registration_xml("00fe", [f"tag{i}" for i in range(tags)])
    assert await register("reg", xml) == 200
    results[f"new registration, {tags} tags"] = counter.take()
    assert await register("reg", xml) == 200
    results["unchanged registration"] = counter.take()
    await engine.aclose()
    return results


def registration_xml(token: str, tags: list[str]) -> bytes:
    """An Apple native registration as the device SDKs and backends write one."""
    return (
        '<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">'
        '<AppleRegistrationDescription xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.microsoft.com/netservices/2010/10/servicebus/connect">'
        f"<Tags>{','.join(tags)}</Tags><DeviceToken>{token}</DeviceToken>"
        "</AppleRegistrationDescription></content></entry>"
    ).encode()


async def raw_upsert_rate(storage: str, clients: int, total: int) -> float:
    engine = Engine.build(Settings.from_env(app_env(storage)))
    table = await engine.tables.get("rawbench")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            await table.upsert_entity(
                {"PartitionKey": f"p{n % 16}", "RowKey": f"r{n}", "View": b"x" * 200}
            )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    await engine.aclose()
    return total / elapsed


async def registration_rate(
    url: str, hub: Hub, clients: int, total: int, tags: int, *, kind: str, offset: int = 0
) -> tuple[float, list[float]]:
    """``kind`` "installations" PUTs installation JSON, "registrations" NH Atom entries."""
    caller = NhCaller(url, hub)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(offset, offset + total):
        queue.put_nowait(n)
    latencies: list[float] = []

    async def put(http: httpx.AsyncClient, n: int) -> httpx.Response:
        device_tags = [f"t{(n + i) % 50}" for i in range(tags)]
        if kind == "registrations":
            body = registration_xml(f"{n:064x}", device_tags)
            return await http.put(f"/registrations/r{n}", content=body, headers=caller.headers())
        installation = {
            "installationId": f"d{n}",
            "platform": "fcmv1",
            "pushChannel": f"token-{n}",
            "tags": device_tags,
        }
        return await http.put(f"/installations/d{n}", json=installation, headers=caller.headers())

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            started = time.perf_counter()
            response = await put(http, n)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"{url}/{hub.name}", params={"api-version": "2020-06"}, limits=limits
    ) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies


@dataclass
class Round:
    raw: float
    rates: dict[str, tuple[float, list[float], float, float]]  # rate, latencies, host, azurite


async def measure_round(
    args: argparse.Namespace, storage: str, host: HostProcess, azurite: Azurite, hub: Hub, n: int
) -> Round:
    raw = await raw_upsert_rate(storage, args.clients, args.registrations * 2)
    rates = {}
    kinds = ("installations", "registrations")
    for kind in kinds if n % 2 else reversed(kinds):  # neither always has the fresher Azurite
        host_cpu, azurite_cpu = cpu_seconds(host.pid), cpu_seconds(azurite.process.pid)
        rate, latencies = await registration_rate(
            host.url, hub, args.clients, args.registrations, args.tags,
            kind=kind, offset=n * args.registrations,
        )  # fmt: skip
        per = 1000 / args.registrations  # ms per registration
        rates[kind] = (
            rate,
            latencies,
            (cpu_seconds(host.pid) - host_cpu) * per,
            (cpu_seconds(azurite.process.pid) - azurite_cpu) * per,
        )
    return Round(raw, rates)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--registrations", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    azurite = await Azurite.start(REPO)
    try:
        storage = azurite.connection_string
        print("Storage requests per operation (exact):")
        ops = await count_operations(storage, args.tags)
        for name, count in ops.items():
            print(f"  {name:34} {count['read']} read, {count['write']} write")
        engine = Engine.build(Settings.from_env(app_env(storage)))
        hub = await engine.hubs.create_hub(Hub.new("ratebench"))
        await engine.aclose()
        rounds = []
        with running_host(REPO, app_env(storage)) as host:
            for kind in ("installations", "registrations"):  # warm up
                await registration_rate(host.url, hub, args.clients, 200, args.tags, kind=kind)
            for n in range(1, args.rounds + 1):
                rounds.append(await measure_round(args, storage, host, azurite, hub, n))
        print(f"\n{args.clients} concurrent clients, {args.tags} tags, {args.rounds} rounds:")
        for kind in ("installations", "registrations"):
            writes = ops[f"new {kind[:-1]}, {args.tags} tags"]["write"]
            print(f"\n{kind.capitalize()} (ceiling = Azurite raw upserts / {writes} writes):")
            ratios = []
            for n, measured in enumerate(rounds, 1):
                rate, latencies, host_cpu, azurite_cpu = measured.rates[kind]
                ceiling = measured.raw / writes
                ratios.append(rate / ceiling)
                quantiles = statistics.quantiles(latencies, n=100)
                print(
                    f"  round {n}: raw {measured.raw:5.0f}/s, ceiling {ceiling:4.0f}/s, "
                    f"through the host {rate:4.0f}/s ({rate / ceiling:4.0%}); "
                    f"p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms; "
                    f"CPU per registration: host {host_cpu:.1f} ms, Azurite {azurite_cpu:.1f} ms"
                )
            print(f"  median of the rounds: {statistics.median(ratios):.0%} of the ceiling")
    finally:
        azurite.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
