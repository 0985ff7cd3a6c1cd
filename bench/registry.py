"""Registry benchmarks: storage requests per operation, and registration throughput.

    .venv/bin/python bench/registry.py [--clients 16] [--registrations 2000] [--tags 3]

1. Storage requests per operation, counted exactly at the HTTP pipeline of the Storage clients
   while the installations API handler runs in this process against Azurite.
2. Registrations per second with ``--clients`` concurrent clients through the local Functions
   host (a separate process), with p50/p99 latency, printed beside the ceiling Azurite allows in
   the same run: its raw upsert rate (same concurrency) divided by the writes per registration.
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
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from emulator.azurite import Azurite  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.http import HttpRequestData  # noqa: E402
from shared.hubs.model import Hub  # noqa: E402
from shared.registry.api import handle_installations  # noqa: E402
from shared.store.clients import StorageClients  # noqa: E402
from support.processes import running_host  # noqa: E402
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

    async def call(method: str, installation_id: str, body: object) -> int:
        request = HttpRequestData(
            method=method,
            url=f"http://localhost/opsbench/installations/{installation_id}",
            headers={"authorization": caller.token()},
            query={},
            route={"hub": "opsbench", "installationId": installation_id},
            body=json.dumps(body).encode(),
        )
        import shared.engine as engine_module

        engine_module._engines[asyncio.get_running_loop()] = engine
        answer = await handle_installations(request)
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
    await engine.aclose()
    return results


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
    url: str, hub: Hub, clients: int, total: int, tags: int
) -> tuple[float, list[float]]:
    caller = NhCaller(url, hub)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)
    latencies: list[float] = []

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body = {
                "installationId": f"d{n}",
                "platform": "fcmv1",
                "pushChannel": f"token-{n}",
                "tags": [f"t{(n + i) % 50}" for i in range(tags)],
            }
            started = time.perf_counter()
            response = await http.put(f"/installations/d{n}", json=body, headers=caller.headers())
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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--tags", type=int, default=3)
    args = parser.parse_args()

    azurite = await Azurite.start(REPO)
    try:
        storage = azurite.connection_string
        print("Storage requests per operation (exact):")
        ops = await count_operations(storage, args.tags)
        for name, count in ops.items():
            print(f"  {name:34} {count['read']} read, {count['write']} write")
        writes = ops[f"new installation, {args.tags} tags"]["write"]

        raw = await raw_upsert_rate(storage, args.clients, args.registrations * 2)
        engine = Engine.build(Settings.from_env(app_env(storage)))
        hub = await engine.hubs.create_hub(Hub.new("ratebench"))
        await engine.aclose()
        with running_host(REPO, app_env(storage)) as host:
            await registration_rate(host.url, hub, args.clients, 200, args.tags)  # warm up
            rate, latencies = await registration_rate(
                host.url, hub, args.clients, args.registrations, args.tags
            )
        ceiling = raw / writes
        quantiles = statistics.quantiles(latencies, n=100)
        print(f"\nRegistrations, {args.clients} concurrent clients, {args.tags} tags each:")
        print(f"  Azurite raw upserts (baseline)     {raw:8.0f} /s")
        print(f"  ceiling = raw / {writes} writes        {ceiling:8.0f} registrations/s")
        print(
            f"  through the Functions host         {rate:8.0f} registrations/s "
            f"({rate / ceiling:.0%} of the ceiling)"
        )
        print(f"  latency p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms")
    finally:
        azurite.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
