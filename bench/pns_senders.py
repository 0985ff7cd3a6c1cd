"""Micro-benchmark: Herald's APNs sender beside aioapns, against one minimal h2 TLS server.

The server (tests/integration/pns/pns_h2_server.py) runs in a subprocess on 127.0.0.1, so the
client CPU measured here (getrusage of this process) is the sender's alone. Each client sends the
same 200-byte payload to rotating 64-hex device tokens with an ES256 provider token. Runs
alternate between the clients; the table shows medians.

    .venv/bin/python bench/pns_senders.py [--deliveries 30000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "integration" / "pns" / "pns_h2_server.py"
sys.path[:0] = [str(ROOT), str(SERVER.parent)]

from pns_h2_server import TlsFiles, make_tls_files  # noqa: E402

from shared.pns.apns import ApnsCredentials, ApnsSender  # noqa: E402
from shared.pns.base import PushMessage  # noqa: E402
from shared.pns.options import PnsOptions  # noqa: E402

BUNDLE = "com.example.app"
PAYLOAD = {"aps": {"alert": {"title": "Hello", "body": "x" * 118}, "sound": "default"}}
PAYLOAD_BYTES = json.dumps(PAYLOAD, separators=(",", ":")).encode()
TOKENS = [f"{i * 2654435761 % (1 << 64):016x}" * 4 for i in range(10_000)]

Runner = Callable[[int], Awaitable[int]]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(run: Runner, deliveries: int) -> tuple[float, float]:
    """(deliveries per second, client CPU ms per 1,000 deliveries) for one timed run."""
    await run(200)  # warm-up: connections, JWT, caches
    wall, cpu = time.perf_counter(), cpu_seconds()
    ok = await run(deliveries)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    if ok != deliveries:
        raise SystemExit(f"only {ok} of {deliveries} deliveries succeeded")
    return deliveries / wall, cpu * 1e6 / deliveries


def herald_runner(port: int, files: TlsFiles, key_pem: str, batch: int, batches: int) -> Runner:
    credentials = ApnsCredentials(
        bundle_id=BUNDLE,
        endpoint=f"https://127.0.0.1:{port}",
        key_id="KEY1234567",
        team_id="TEAM123456",
        signing_key=key_pem,
    )
    sender = ApnsSender(credentials, PnsOptions(ca_file=str(files.ca)))
    messages = [PushMessage(handle=token, payload=PAYLOAD_BYTES) for token in TOKENS]

    async def run(count: int) -> int:
        queue = [messages[i % len(messages) : i % len(messages) + 1][0] for i in range(count)]
        chunks = [queue[i : i + batch] for i in range(0, count, batch)]
        ok = 0

        async def worker() -> None:
            nonlocal ok
            while chunks:
                outcomes = await sender.send(chunks.pop())
                ok += sum(1 for outcome in outcomes if outcome.status == 200)

        await asyncio.gather(*(worker() for _ in range(batches)))
        return ok

    return run


def aioapns_runner(port: int, files: TlsFiles, key_pem: str, concurrency: int) -> Runner:
    import aioapns.connection as connection
    from aioapns import APNs, NotificationRequest, PushType

    connection.APNsProductionClientProtocol.APNS_SERVER = "127.0.0.1"
    connection.APNsProductionClientProtocol.APNS_PORT = port
    context = ssl.create_default_context(cafile=str(files.ca))
    context.set_alpn_protocols(["h2"])
    client = APNs(
        key=key_pem,
        key_id="KEY1234567",
        team_id="TEAM123456",
        topic=BUNDLE,
        use_sandbox=False,
        ssl_context=context,
    )

    async def run(count: int) -> int:
        limit = asyncio.Semaphore(concurrency)
        ok = 0

        async def one(token: str) -> None:
            nonlocal ok
            try:
                request = NotificationRequest(
                    device_token=token, message=PAYLOAD, push_type=PushType.ALERT
                )
                response = await client.send_notification(request)
                ok += response.is_successful  # after the await: ``ok`` is read fresh
            finally:
                limit.release()

        tasks = set()
        for i in range(count):
            await limit.acquire()
            task = asyncio.create_task(one(TOKENS[i % len(TOKENS)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        return ok

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(files: TlsFiles, port: int) -> subprocess.Popen[str]:
    args = ["--port", str(port), "--ca", str(files.ca), "--cert", str(files.cert)]
    process = subprocess.Popen(
        [sys.executable, str(SERVER), *args, "--key", str(files.key)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        process.kill()
        raise SystemExit("the h2 server did not start")
    return process


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="herald-bench-"))
    files = make_tls_files(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    port = free_port()
    server = start_server(files, port)
    try:
        runners = {
            "herald ApnsSender": herald_runner(port, files, key_pem, args.batch, args.batches),
            "aioapns 4.0": aioapns_runner(port, files, key_pem, args.aioapns_concurrency),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
        for _ in range(args.runs):
            for name, run in runners.items():
                results[name].append(await measure(run, args.deliveries))
    finally:
        server.terminate()
        server.wait(10)
    report(results, args)


def report(results: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    print(f"{args.deliveries} deliveries x {args.runs} runs, 200-byte payload, TLS, medians")
    print(f"{'client':<20} {'deliveries/s':>13} {'CPU ms/1000':>12}")
    medians = {}
    for name, runs in results.items():
        rate = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        medians[name] = cpu
        print(f"{name:<20} {rate:>13,.0f} {cpu:>12.1f}")
    ours, theirs = medians["herald ApnsSender"], medians["aioapns 4.0"]
    verdict = "meets" if ours <= theirs * 2 / 3 else "misses"
    print(f"CPU per delivery: herald/aioapns = {ours / theirs:.2f} ({verdict} the <= 0.67 target)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="messages per send() call")
    parser.add_argument("--batches", type=int, default=2, help="send() calls in flight")
    parser.add_argument("--aioapns-concurrency", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
