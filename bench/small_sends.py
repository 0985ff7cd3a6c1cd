"""Small sends: what a send to one user, or to a small tag, costs beside a direct send.

    .venv/bin/python bench/small_sends.py [--sends 20] [--background 10000] [--churn 10]

Azurite, the PNS simulators and the Functions host each run as their own process, stopped by
PID. The hub (16 shards) holds ``--background`` seeded devices with other tags, a user with 2
devices and a tag with 50, both registered through the API. Sends go one at a time, in turns:
to ``$UserId:{…}``, to the tag, and directly to one handle. For each kind it prints:

- queue messages and storage requests per send, counted exactly inside the host at the Azure
  SDK's HTTP transport (the POST's own writes included; an idle listener's empty polls left
  out);
- the median POST-to-delivery latency at the simulator, and its ratio to the direct send's.

Then it registers the user's and the tag's devices again ``--churn`` times, each time with a
new push channel (an app reinstalled, a token rotated), and measures the same again.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from pns_process import on_fresh_azurite, simulators  # noqa: E402
from sending import EMPTY_POLL, counting_env, nh_client, post_send, read_counts  # noqa: E402

from devstack.simulated import app_settings, hub_credentials  # noqa: E402
from emulator.azurite import Azurite  # noqa: E402
from emulator.pns.client import ControlClient  # noqa: E402
from shared.hubs.model import Hub  # noqa: E402
from shared.model.installation import parse_installation  # noqa: E402
from shared.store.seeding import seed_installations  # noqa: E402
from support.processes import running_host  # noqa: E402
from support.stack import NhCaller, app_env, create_hub, engine_for  # noqa: E402

USER = "alice"
TAG = "team50"
TAG_MEMBERS = 50
SETTLE = 1.5  # seconds after the last delivery for the step's final writes and the count dump


@dataclass
class Kind:
    name: str
    headers: dict[str, str]
    query: dict[str, str]
    handles: list[str]  # what the simulator must record before the send counts as delivered
    latencies: list[float] = field(default_factory=list)
    requests: list[Counter[str]] = field(default_factory=list)


def _channel(n: int, generation: int) -> str:
    return f"{generation:04x}{n:060x}"


async def _register(
    caller: NhCaller, http: httpx.AsyncClient, generation: int
) -> tuple[list[str], list[str]]:
    """The user's 2 devices and the tag's 50, registered (again) with this generation's channels;
    their handles."""
    user, tag = [], []
    for n in range(2 + TAG_MEMBERS):
        channel = _channel(n, generation)
        body: dict[str, object] = {"installationId": f"small{n:03d}", "platform": "apns"}
        body["pushChannel"] = channel
        if n < 2:
            body["userId"] = USER
            user.append(channel)
        else:
            body["tags"] = [TAG]
            tag.append(channel)
        response = await http.put(
            f"/installations/small{n:03d}", json=body, headers=caller.headers()
        )
        response.raise_for_status()
    return user, tag


async def _seed_background(storage: str, hub: Hub, devices: int) -> None:
    installations = [
        parse_installation(
            {
                "installationId": f"bg{n:07d}",
                "platform": "apns",
                "pushChannel": f"{n:064x}",
                "tags": [f"group{n % 100}", "everyone"],
            },
            max_tags=hub.max_tags,
        )
        for n in range(devices)
    ]
    engine = engine_for(storage)
    try:
        await seed_installations(engine.tables, hub.name, hub.shard_count, installations)
    finally:
        await engine.aclose()


async def _delivered(control: ControlClient, handles: list[str], timeout: float = 60) -> float:
    """The time of the last of ``handles``' deliveries at the APNs simulator."""
    deadline = time.monotonic() + timeout
    wanted = set(handles)
    while True:
        records = [r for r in await control.records("apns") if r["handle"] in wanted]
        if len({r["handle"] for r in records}) == len(wanted):
            return max(float(r["time"]) for r in records)
        if time.monotonic() > deadline:
            raise SystemExit(f"a send did not reach its {len(handles)} devices in {timeout} s")
        await asyncio.sleep(0.005)


async def _measure(
    env: Mapping[str, str],
    caller: NhCaller,
    http: httpx.AsyncClient,
    control: ControlClient,
    kind: Kind,
) -> None:
    await control.reset_records()
    await asyncio.sleep(SETTLE)
    before = read_counts(env)
    started = time.time()
    await post_send(caller, http, kind.query, **kind.headers)
    last = await _delivered(control, kind.handles)
    await asyncio.sleep(SETTLE)
    kind.latencies.append(last - started)
    used = read_counts(env) - before
    used.pop(EMPTY_POLL, None)
    kind.requests.append(used)


def _kinds(user: list[str], tag: list[str]) -> list[Kind]:
    """The three kinds of send; the direct one's handle is set per send."""
    apple = {"ServiceBusNotification-Format": "apple"}
    to_user = {**apple, "ServiceBusNotification-Tags": f"$UserId:{{{USER}}}"}
    return [
        Kind("user, 2 devices", to_user, {}, user),
        Kind(f"tag, {TAG_MEMBERS} devices", {**apple, "ServiceBusNotification-Tags": TAG}, {}, tag),
        Kind("direct, 1 handle", dict(apple), {"direct": "true"}, []),
    ]


async def _round(
    env: Mapping[str, str],
    caller: NhCaller,
    http: httpx.AsyncClient,
    control: ControlClient,
    handles: tuple[list[str], list[str]],
    sends: int,
) -> list[Kind]:
    kinds = _kinds(*handles)
    for n in range(sends):
        for kind in kinds if n % 2 == 0 else reversed(kinds):
            if kind.query:
                kind.handles = [f"d1ec7{n:059x}"]
                kind.headers["ServiceBusNotification-DeviceHandle"] = kind.handles[0]
            await _measure(env, caller, http, control, kind)
    return kinds


def _report(title: str, kinds: list[Kind]) -> None:
    direct = statistics.median(kinds[-1].latencies)
    print(f"\n{title}")
    print(f"  {'send':18} {'queue msgs':>10} {'storage req':>11} {'median ms':>9} {'/ direct':>8}")
    for kind in kinds:
        puts = statistics.median(r.get("queue put", 0) for r in kind.requests)
        total = statistics.median(sum(r.values()) for r in kind.requests)
        median = statistics.median(kind.latencies)
        print(
            f"  {kind.name:18} {puts:10.0f} {total:11.0f} {median * 1000:9.0f} "
            f"{median / direct:8.2f}"
        )
    kinds_seen = Counter[str]()
    for r in kinds[0].requests:
        kinds_seen.update(r)
    shown = ", ".join(
        f"{k} {v / len(kinds[0].requests):.1f}" for k, v in sorted(kinds_seen.items())
    )
    print(f"  the user send's requests by kind, on average: {shown}")


async def _bench(args: argparse.Namespace, azurite: Azurite, workdir: Path) -> None:
    state_dir = workdir / "pns"
    state_dir.mkdir()
    storage = azurite.connection_string
    with simulators(state_dir) as sims:
        control = ControlClient(sims.endpoints["control"])
        try:
            credentials = hub_credentials(sims.endpoints, state_dir)
            hub = await create_hub(storage, "benchsmallsends", credentials=credentials)
            await _seed_background(storage, hub, args.background)
            env = {**app_env(storage, **app_settings(sims.endpoints)), **counting_env(workdir)}
            with running_host(REPO, env) as host:
                async with nh_client(host.url, hub) as (caller, http):
                    handles = await _register(caller, http, 0)
                    await _round(env, caller, http, control, handles, 2)  # warm up
                    fresh = await _round(env, caller, http, control, handles, args.sends)
                    for generation in range(1, args.churn + 1):
                        handles = await _register(caller, http, generation)
                    churned = await _round(env, caller, http, control, handles, args.sends)
        finally:
            await control.aclose()
    print(
        f"\nHub of {hub.shard_count} shards, {args.background:,} other devices, "
        f"{args.sends} sends of each kind in turns."
    )
    _report("Freshly registered:", fresh)
    _report(f"After {args.churn} re-registrations with new channels:", churned)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=20, help="sends of each kind per round")
    parser.add_argument("--background", type=int, default=10_000, help="other devices")
    parser.add_argument("--churn", type=int, default=10, help="re-registrations")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(on_fresh_azurite(_bench, _arguments()))
