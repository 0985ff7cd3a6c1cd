"""PNS sender benchmark: Herald's seven senders against the PNS simulators, in one run.

    .venv/bin/python bench/pns_senders.py [--runs 3] [--h2-deliveries 6000]
                                          [--h1-deliveries 300] [--webpush-deliveries 120]

Baidu and WNS and ADM send one HTTP/1.1 request per device (``--h1-deliveries``); Xiaomi sends
up to 1,000 regids per request, so it gets ``--h2-deliveries`` like the HTTP/2 senders.

The simulators run as their own process (``python -m emulator.pns``, stopped by PID). Each client
runs in its own subprocess, so its CPU (``getrusage(RUSAGE_SELF)`` over the timed window, after
a warm-up) is its own. Beside the senders, in the same run and against the same endpoints:

* h2load (nghttp2-client) drives the APNs and FCM simulators with the headers our senders send
  (a provider JWT; an OAuth access token from the simulator's token endpoint) and a 200-byte
  body: the simulator's ceiling, which the APNs sender should reach to at least 80 %.
* aioapns sends the same notifications to the same APNs simulator; our APNs client CPU per
  notification should be at most two thirds of its.

Every payload is 200 bytes. Rows show medians over ``--runs``; ratios are medians of same-run
ratios, because this box drifts by about 10 % between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pns_process import cpu_seconds, simulators, watchdog  # noqa: E402

from devstack.simulated import app_settings, hub_credentials  # noqa: E402
from emulator.pns.client import ControlClient  # noqa: E402
from shared.pns.base import OutcomeKind, Platform, PushMessage, WebPushKeys  # noqa: E402
from shared.pns.options import PnsOptions  # noqa: E402
from shared.pns.registry import build_sender  # noqa: E402

SIZE = 200  # bytes of every payload and of h2load's body
WARM_UP = 500  # deliveries before each client's timed window (at most a fifth of them)
CHILD_TIMEOUT = 240.0  # seconds any one client process may take, start to finish
_PAD = "PAD"


def _padded(template: str) -> bytes:
    """``template`` with ``PAD`` replaced so the whole is exactly ``SIZE`` bytes."""
    return template.replace(_PAD, "x" * (SIZE - len(template) + len(_PAD))).encode()


APNS_BODY = _padded('{"aps":{"alert":{"title":"Hello","body":"PAD"},"sound":"default"}}')
FCM_TOKEN_LEN = 100
# The FCM sender puts the token first: {"message":{"token":"...","notification":{...}}}.
FCM_WIRE = '{"message":{"token":"TOKEN","notification":{"title":"Hello","body":"PAD"}}}'
FCM_BODY_PAD = SIZE - len(FCM_WIRE) + len("TOKEN") + len(_PAD) - FCM_TOKEN_LEN
FCM_PAYLOAD = f'{{"message":{{"notification":{{"title":"Hello","body":"{"x" * FCM_BODY_PAD}"}}}}}}'
WNS_BODY = _padded(
    "<toast><visual><binding template='ToastGeneric'><text>PAD</text></binding></visual></toast>"
)
WEBPUSH_BODY = _padded('{"title":"Hello","body":"PAD"}')
ADM_BODY = _padded('{"data":{"message":"PAD"}}')
BAIDU_BODY = _padded('{"title":"Hello","description":"PAD"}')
XIAOMI_BODY = _padded('{"title":"Hello","description":"Hi","payload":"PAD"}')
SENDERS = {
    "apns": Platform.APNS,
    "fcm": Platform.FCMV1,
    "wns": Platform.WNS,
    "webpush": Platform.BROWSER,
    "adm": Platform.ADM,
    "baidu": Platform.BAIDU,
    "xiaomi": Platform.XIAOMI,
}
LABELS = {
    "apns": "APNs sender",
    "fcm": "FCM v1 sender",
    "wns": "WNS sender",
    "webpush": "Web Push sender",
    "adm": "ADM sender",
    "baidu": "Baidu sender",
    "xiaomi": "Xiaomi sender",
    "aioapns": "aioapns 4.0 -> APNs",
    "h2load-apns": "h2load -> APNs sim",
    "h2load-fcm": "h2load -> FCM sim",
}


@dataclass(frozen=True)
class Result:
    client: str
    deliveries: int
    seconds: float
    cpu_seconds: float  # the client's own
    sim_cpu_seconds: float  # the simulator process's, over the same window

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    @property
    def cpu_ms_per_1000(self) -> float:
        return self.cpu_seconds * 1e6 / self.deliveries

    @property
    def sim_cpu_percent(self) -> float:
        return 100 * self.sim_cpu_seconds / self.seconds

    @property
    def sim_ms_per_1000(self) -> float:
        return self.sim_cpu_seconds * 1e6 / self.deliveries


# --- the client side (one subprocess per client) ----------------------------------------------
def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def _devices(platform: Platform, endpoints: Mapping[str, str]) -> list[PushMessage]:
    """Distinct devices to rotate over, each with its platform's 200-byte payload."""
    if platform is Platform.APNS:
        return [PushMessage(secrets.token_hex(32), APNS_BODY) for _ in range(10_000)]
    if platform is Platform.FCMV1:
        return [PushMessage(_fcm_token(), FCM_PAYLOAD.encode()) for _ in range(1_000)]
    if platform is Platform.WNS:
        base, toast = endpoints["wns_channel_base"], {"X-WNS-Type": "wns/toast"}
        return [
            PushMessage(base + secrets.token_urlsafe(48), WNS_BODY, toast) for _ in range(1_000)
        ]
    if platform is Platform.ADM:
        prefix = "amzn1.adm-registration.v3."
        return [PushMessage(prefix + secrets.token_urlsafe(48), ADM_BODY) for _ in range(1_000)]
    if platform is Platform.BAIDU:  # NH's {userId}-{channelId}
        return [
            PushMessage(f"{secrets.randbelow(10**18)}-{secrets.randbelow(10**19)}", BAIDU_BODY)
            for _ in range(1_000)
        ]
    if platform is Platform.XIAOMI:
        return [PushMessage(secrets.token_urlsafe(33), XIAOMI_BODY) for _ in range(10_000)]
    control = ControlClient(endpoints["control"])
    try:
        subs = [await control.create_webpush_subscription() for _ in range(100)]
    finally:
        await control.aclose()
    keys = [WebPushKeys(s["p256dh"], s["auth"]) for s in subs]
    ttl = {"TTL": "60"}
    return [
        PushMessage(s["endpoint"], WEBPUSH_BODY, ttl, k) for s, k in zip(subs, keys, strict=True)
    ]


def _fcm_token() -> str:
    return secrets.token_urlsafe(FCM_TOKEN_LEN * 3 // 4)  # 100 characters


SendMany = Callable[[Sequence[PushMessage]], Awaitable[int]]
Close = Callable[[], Awaitable[None]]


async def _drive(send: SendMany, devices: list[PushMessage], args: argparse.Namespace) -> int:
    """Send ``args.deliveries`` messages in ``args.batch``-sized calls, ``args.in_flight`` at once;
    stop issuing at ``args.max_seconds``. Answers how many were delivered."""
    deadline = time.monotonic() + args.max_seconds
    issued = delivered = 0

    async def worker() -> None:
        nonlocal issued, delivered
        while issued < args.deliveries and time.monotonic() < deadline:
            start, issued = issued, min(args.deliveries, issued + args.batch)
            batch = [devices[i % len(devices)] for i in range(start, issued)]
            sent = await send(batch)
            delivered += sent  # only after the await: ``delivered`` += await would lose counts

    await asyncio.gather(*(worker() for _ in range(args.in_flight)))
    return delivered


async def _herald(
    name: str, endpoints: Mapping[str, str], args: argparse.Namespace
) -> tuple[SendMany, Close]:
    platform = SENDERS[name]
    settings = app_settings(endpoints)
    options = PnsOptions(
        ca_file=settings["HERALD_PNS_CA_FILE"],
        allowed_test_hosts=tuple(settings["HERALD_PNS_ALLOWED_TEST_HOSTS"].split(",")),
    )
    sender = build_sender(platform, hub_credentials(endpoints, args.state_dir)[platform], options)

    async def send(batch: Sequence[PushMessage]) -> int:
        outcomes = await sender.send(batch)
        failed = [o for o in outcomes if o.kind is not OutcomeKind.DELIVERED]
        if failed:
            raise SystemExit(f"{name}: {len(failed)} not delivered, e.g. {failed[0]}")
        return len(outcomes)

    return send, sender.aclose


async def _aioapns(
    endpoints: Mapping[str, str], args: argparse.Namespace
) -> tuple[SendMany, Close]:
    import aioapns.connection as connection
    from aioapns import APNs, NotificationRequest, PushType

    creds = json.loads((args.state_dir / "credentials.json").read_text())
    port = int(endpoints["apns"].rsplit(":", 1)[1])
    # aioapns has no endpoint option: its host and port are class attributes.
    connection.APNsProductionClientProtocol.APNS_SERVER = "127.0.0.1"
    connection.APNsProductionClientProtocol.APNS_PORT = port
    context = PnsOptions(ca_file=endpoints["ca_file"]).ssl_context(alpn_h2=True)
    client = APNs(
        key=creds["apns_private_key"],
        key_id=creds["apns_key_id"],
        team_id=creds["apns_team_id"],
        topic=creds["apns_topic"],
        use_sandbox=False,
        ssl_context=context,
    )
    limit = asyncio.Semaphore(args.aioapns_concurrency)
    message = json.loads(APNS_BODY)

    async def one(token: str) -> int:
        async with limit:
            request = NotificationRequest(
                device_token=token, message=message, push_type=PushType.ALERT
            )
            response = await client.send_notification(request)
        if not response.is_successful:
            raise SystemExit(f"aioapns: {response.status} {response.description}")
        return 1

    async def send(batch: Sequence[PushMessage]) -> int:
        return sum(await asyncio.gather(*(one(m.handle) for m in batch)))

    async def close() -> None:
        client.pool.close()

    return send, close


async def _client(args: argparse.Namespace) -> None:
    """Child mode: warm up, print ``go``, run the timed window, print one JSON line."""
    endpoints = json.loads((args.state_dir / "endpoints.json").read_text())
    name = args.client
    if name == "aioapns":
        send, close = await _aioapns(endpoints, args)
        devices = await _devices(Platform.APNS, endpoints)
    else:
        send, close = await _herald(name, endpoints, args)
        devices = await _devices(SENDERS[name], endpoints)
    await send(devices[: min(WARM_UP, args.deliveries // 5)])
    print("go", flush=True)
    wall, cpu = time.perf_counter(), _cpu()
    delivered = await _drive(send, devices, args)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    print(json.dumps({"deliveries": delivered, "seconds": wall, "cpu_seconds": cpu}), flush=True)
    await close()


# --- the harness side ---------------------------------------------------------------------------
def _run_client(name: str, sim_pid: int, args: argparse.Namespace) -> Result:
    """One client in its own process; the simulator's CPU is read when it says ``go`` and done."""
    deliveries = _deliveries(name, args)
    command = [sys.executable, __file__, "--client", name, "--state-dir", str(args.state_dir)]
    command += ["--deliveries", str(deliveries), "--max-seconds", str(args.max_seconds)]
    command += ["--batch", str(args.batch), "--in-flight", str(args.in_flight)]
    command += ["--aioapns-concurrency", str(args.aioapns_concurrency)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    with watchdog(process, CHILD_TIMEOUT):
        go = process.stdout.readline()
        sim_start = cpu_seconds(sim_pid)
        report = process.stdout.readline()
        sim_cpu = cpu_seconds(sim_pid) - sim_start
        process.wait()
    if go != "go\n" or not report or process.returncode:
        raise SystemExit(f"{name}: the client failed (exit {process.returncode})")
    stats = json.loads(report)
    return Result(name, stats["deliveries"], stats["seconds"], stats["cpu_seconds"], sim_cpu)


def _deliveries(name: str, args: argparse.Namespace) -> int:
    if name in ("wns", "adm", "baidu"):
        return int(args.h1_deliveries)
    if name == "webpush":
        return int(args.webpush_deliveries)
    return int(args.h2_deliveries)


@dataclass(frozen=True)
class H2loadTarget:
    url: str
    headers: tuple[str, ...]
    body: bytes


def _h2load_targets(endpoints: Mapping[str, str], state_dir: Path) -> dict[str, H2loadTarget]:
    """What our APNs and FCM senders send, as h2load arguments: same headers, 200-byte body."""
    creds = json.loads((state_dir / "credentials.json").read_text())
    provider_jwt = jwt.encode(
        {"iss": creds["apns_team_id"], "iat": int(time.time())},
        creds["apns_private_key"],
        algorithm="ES256",
        headers={"kid": creds["apns_key_id"]},
    )
    apns_headers = (
        f"authorization: bearer {provider_jwt}",
        f"apns-topic: {creds['apns_topic']}",
        "apns-push-type: alert",
        "apns-priority: 10",
    )
    fcm_body = FCM_WIRE.replace("TOKEN", _fcm_token()).replace(_PAD, "x" * FCM_BODY_PAD)
    fcm_headers = (
        f"authorization: Bearer {_fcm_access_token(endpoints, state_dir)}",
        "content-type: application/json",
    )
    project = creds["fcm_project_id"]
    return {
        "h2load-apns": H2loadTarget(
            f"{endpoints['apns']}/3/device/{secrets.token_hex(32)}", apns_headers, APNS_BODY
        ),
        "h2load-fcm": H2loadTarget(
            f"{endpoints['fcm']}/v1/projects/{project}/messages:send",
            fcm_headers,
            fcm_body.encode(),
        ),
    }


def _fcm_access_token(endpoints: Mapping[str, str], state_dir: Path) -> str:
    """An OAuth access token from the FCM simulator's own token endpoint (JWT-bearer grant)."""
    account = json.loads((state_dir / "fcm-service-account.json").read_text())
    now = int(time.time())
    claims = {
        "iss": account["client_email"],
        "scope": "https://www.googleapis.com/auth/firebase.messaging",
        "aud": account["token_uri"],
        "iat": now,
        "exp": now + 3600,
    }
    assertion = jwt.encode(claims, account["private_key"], algorithm="RS256")
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    with httpx.Client(verify=endpoints["ca_file"], trust_env=False, timeout=10) as client:
        response = client.post(endpoints["fcm_token_uri"], data=form)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def _run_h2load(name: str, target: H2loadTarget, sim_pid: int, args: argparse.Namespace) -> Result:
    """h2load for ``--h2-deliveries`` requests; CPU from its rusage (RUSAGE_CHILDREN delta)."""
    body = args.state_dir / f"{name}.body"
    body.write_bytes(target.body)
    command = ["h2load", "-n", str(args.h2_deliveries), "-c", str(args.h2load_clients)]
    command += ["-m", str(args.h2load_streams), "-d", str(body)]
    command += [arg for header in target.headers for arg in ("-H", header)]
    cpu, sim_cpu = _cpu(resource.RUSAGE_CHILDREN), cpu_seconds(sim_pid)
    process = subprocess.Popen([*command, target.url], stdout=subprocess.PIPE, text=True)
    with watchdog(process, CHILD_TIMEOUT):
        output, _ = process.communicate()
    cpu, sim_cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu, cpu_seconds(sim_pid) - sim_cpu
    finished = re.search(r"finished in ([\d.]+)(m?s),", output)
    ok = re.search(r"status codes: (\d+) 2xx", output)
    if process.returncode or not finished or not ok or int(ok[1]) != args.h2_deliveries:
        raise SystemExit(f"{name} failed (exit {process.returncode}):\n{output[-2000:]}")
    seconds = float(finished[1]) / (1000 if finished[2] == "ms" else 1)
    return Result(name, int(ok[1]), seconds, cpu, sim_cpu)


def _reset_records(endpoints: Mapping[str, str]) -> None:
    """The simulators keep every delivery; drop them between clients to bound their memory."""
    httpx.delete(endpoints["control"] + "/records", trust_env=False, timeout=10).raise_for_status()


def _one_run(sim_pid: int, endpoints: Mapping[str, str], args: argparse.Namespace) -> list[Result]:
    """Every client once. Each baseline runs next to what it is compared with."""
    targets = _h2load_targets(endpoints, args.state_dir)
    results = []
    names = ("h2load-apns", "apns", "aioapns", "h2load-fcm", "fcm", "wns", "webpush", "adm")
    for name in (*names, "baidu", "xiaomi"):
        _reset_records(endpoints)
        if name in targets:
            result = _run_h2load(name, targets[name], sim_pid, args)
        else:
            result = _run_client(name, sim_pid, args)
        print(
            f"  {LABELS[name]:<22} {result.rate:>9,.0f}/s {result.cpu_ms_per_1000:>8.1f} ms"
            f" (simulator {result.sim_ms_per_1000:.1f} ms, {result.sim_cpu_percent:.0f} % CPU)",
            flush=True,
        )
        results.append(result)
    return results


def _busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole box so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _ours() -> float:
    """CPU seconds this process and its reaped children (clients, h2load, simulators) used."""
    return _cpu() + _cpu(resource.RUSAGE_CHILDREN)


_BASELINES = {"apns": "h2load-apns", "aioapns": "h2load-apns", "fcm": "h2load-fcm"}
_ROWS = (
    *("apns", "fcm", "wns", "webpush", "adm", "baidu", "xiaomi"),
    *("aioapns", "h2load-apns", "h2load-fcm"),
)


def _ratio(runs: list[dict[str, Result]], name: str, base: str, field: str) -> list[float]:
    """``name``'s ``field`` over ``base``'s, run by run (each run against its own baseline)."""
    return [float(getattr(run[name], field) / getattr(run[base], field)) for run in runs]


def _ratio_text(values: list[float], fmt: str, unit: str, target: str = "") -> str:
    """``median unit (runs a/b/c; target)``."""
    notes = "; ".join(n for n in ("runs " + "/".join(format(v, fmt) for v in values), target) if n)
    return f"{statistics.median(values):{fmt}}{unit} ({notes})"


def _report(runs: list[dict[str, Result]], load: str) -> None:
    def med(name: str, field: str) -> float:
        return statistics.median(float(getattr(run[name], field)) for run in runs)

    print(f"\nmedians of {len(runs)} runs; {load}")
    header = f"{'client':<22} {'deliveries/s':>12} {'CPU ms/1000':>11} {'sim ms/1000':>11} "
    header += f"{'sim CPU':>7}  "
    print(header + f"{'baseline':<28} ratio")
    for name in _ROWS:
        row = (
            f"{LABELS[name]:<22} {med(name, 'rate'):>12,.0f} {med(name, 'cpu_ms_per_1000'):>11.1f} "
        )
        row += f"{med(name, 'sim_ms_per_1000'):>11.1f} {med(name, 'sim_cpu_percent'):>6.0f}%  "
        base = _BASELINES.get(name)
        if base is None:
            print(row + f"{'-':<28} -")
            continue
        shares = [100 * v for v in _ratio(runs, name, base, "rate")]
        target = "target >= 80 %" if name == "apns" else ""
        ceiling = f"h2load ceiling {med(base, 'rate'):,.0f}/s"
        print(row + f"{ceiling:<28} {_ratio_text(shares, '.0f', ' % of ceiling', target)}")
        if name == "apns":
            baseline = f"aioapns {med('aioapns', 'cpu_ms_per_1000'):.1f} ms/1000"
            factors = _ratio(runs, "apns", "aioapns", "cpu_ms_per_1000")
            ratio = _ratio_text(factors, ".2f", " x its CPU", "target <= 0.67")
            print(f"{'':<69}{baseline:<28} {ratio}")
    for base in ("h2load-apns", "h2load-fcm"):
        if med(base, "sim_cpu_percent") < 90:  # then h2load measured the box, not the simulator
            print(
                f"warning: the simulator ran below 90 % of a core under {LABELS[base]}: the box "
                "was too busy for a ceiling; rerun when it is quieter"
            )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--runs", type=int, default=3)
    add("--h2-deliveries", type=int, default=6_000, help="per APNs/FCM client and h2load run")
    add("--h1-deliveries", type=int, default=300, help="per WNS, ADM and Baidu run")
    add("--webpush-deliveries", type=int, default=120, help="per Web Push run")
    add("--batch", type=int, default=500, help="messages per send() call")
    add("--in-flight", type=int, default=2, help="send() calls at once")
    add("--aioapns-concurrency", type=int, default=100)
    add("--h2load-clients", type=int, default=4, help="h2load -c: connections")
    add("--h2load-streams", type=int, default=100, help="h2load -m: streams per connection")
    add("--max-seconds", type=float, default=60.0, help="a client stops issuing after this")
    add("--state-dir", type=Path, default=None, help=argparse.SUPPRESS)
    add("--client", choices=[*SENDERS, "aioapns"], default=None, help=argparse.SUPPRESS)
    add("--deliveries", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1 or args.batch < 1 or args.in_flight < 1:
        parser.error("--runs, --batch and --in-flight must be at least 1")
    return args


def _bench(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    busy0, total0, ours0 = *_busy(), _ours()
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as folder:
        args.state_dir = Path(folder)
        runs = []
        with simulators(args.state_dir) as sims:
            sim_pid, endpoints = sims.pid, sims.endpoints
            for number in range(1, args.runs + 1):
                print(f"run {number} of {args.runs}", flush=True)
                runs.append({r.client: r for r in _one_run(sim_pid, endpoints, args)})
    busy1, total1, ours1 = *_busy(), _ours()
    tick, cores = os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
    others = ((busy1 - busy0) / tick - (ours1 - ours0)) / ((total1 - total0) / tick / cores)
    load = (
        f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"other processes used {100 * max(others, 0) / cores:.0f} % of the {cores} cores"
    )
    _report(runs, load)


def main() -> None:
    args = _arguments()
    if args.client:
        asyncio.run(_client(args))
        return
    if shutil.which("h2load") is None:
        raise SystemExit(
            "h2load not found: install the Debian package nghttp2-client "
            "(apt-get install nghttp2-client; `make bench` does this)"
        )
    _bench(args)


if __name__ == "__main__":
    main()
