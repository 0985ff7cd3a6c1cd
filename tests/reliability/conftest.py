"""A fleet of 20,000 devices on four platforms, bulk-seeded once per module into one hub, on
the stack of tests/sending (Azurite, the PNS simulators, the host), whose fixtures it reuses."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from sending.conftest import SIM_NAMES, Stack, app, new_stack

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from shared.hubs.model import Hub
from shared.model.installation import parse_installation
from shared.store.seeding import seed_installations
from support.processes import HostProcess
from support.stack import NhCaller, app_env, engine_for

FLEET_SIZE = 20_000
PLATFORMS = ("apns", "fcmv1", "wns", "adm")
# Of every 20 devices, 9 are APNs, 9 FCM v1, 1 WNS and 1 ADM: the fleet mostly exercises the
# HTTP/2 senders, which carry most real traffic.
_PLATFORM_CYCLE = ("apns",) * 9 + ("fcmv1",) * 9 + ("wns", "adm")
EXPRESSION = "(a || b) && !c"
# How long a host killed mid-send keeps its messages hidden (the emulator's default is 10 min).
SHORT_LEASE_SECONDS = 12
_TEMPLATES = {
    "apns": '{"aps":{"alert":"$(greeting)"}}',
    "fcmv1": '{"message":{"notification":{"title":"$(greeting)"}}}',
    "wns": "<toast><visual><binding template='ToastText01'><text id='1'>$(greeting)</text>"
    "</binding></visual></toast>",
    "adm": '{"data":{"message":"$(greeting)"}}',
}


def device_tags(n: int) -> list[str]:
    """Overlapping tags, independent of the platform: a on every 2nd device of a platform,
    b on every 3rd, c on every 5th."""
    k = n // len(_PLATFORM_CYCLE)
    return [tag for tag, every in (("a", 2), ("b", 3), ("c", 5)) if k % every == 0]


def matches(n: int) -> bool:
    tags = device_tags(n)
    return ("a" in tags or "b" in tags) and "c" not in tags


@dataclass(frozen=True)
class Fleet:
    hub: Hub
    # platform -> device number -> the handle the simulator records it under
    handles: dict[str, dict[int, str]]

    def expected(self, platform: str) -> set[str]:
        return {handle for n, handle in self.handles[platform].items() if matches(n)}

    def others(self, platform: str) -> set[str]:
        return {handle for n, handle in self.handles[platform].items() if not matches(n)}


def _template(platform: str) -> dict[str, object]:
    template: dict[str, object] = {"body": _TEMPLATES[platform]}
    if platform == "wns":
        template["headers"] = {"X-WNS-Type": "wns/toast"}
    return template


def _device(n: int, wns_base: str) -> tuple[str, dict[str, object], str]:
    platform = _PLATFORM_CYCLE[n % len(_PLATFORM_CYCLE)]
    token = f"{n:08x}" * 8  # 64 hex digits, distinct per device
    channel = {"wns": wns_base + token, "fcmv1": f"t{token}", "adm": f"amzn1.{token}"}
    handle = channel.get(platform, token)
    body: dict[str, object] = {
        "installationId": f"dev{n:06d}",
        "platform": platform,
        "pushChannel": handle,
        "tags": device_tags(n),
        "templates": {"main": _template(platform)},
    }
    return platform, body, token if platform == "wns" else handle


@pytest.fixture(scope="module")
async def fleet(app: HostProcess, azurite: str, sims: RunningSimulators) -> Fleet:
    hub = (await new_stack(app, azurite, sims, "fleet")).nh.hub
    handles: dict[str, dict[int, str]] = {platform: {} for platform in PLATFORMS}
    installations = []
    for n in range(FLEET_SIZE):
        platform, body, handle = _device(n, sims.endpoints.wns_channel_base)
        installations.append(parse_installation(body, max_tags=hub.max_expression_tags))
        handles[platform][n] = handle
    engine = engine_for(azurite)
    try:
        await seed_installations(engine.tables, hub.name, hub.shard_count, installations)
    finally:
        await engine.aclose()
    return Fleet(hub, handles)


@pytest.fixture
async def fleet_stack(app: HostProcess, fleet: Fleet, sims: RunningSimulators) -> Stack:
    """The fleet's hub behind the module's host, with the simulators' records and faults
    cleared."""
    await sims.control.reset()
    return Stack(sims, NhCaller(app.url, fleet.hub))


def host_env(azurite: str, sims: RunningSimulators, **extra: str) -> dict[str, str]:
    """The settings of another host of the module's app, next to the ``app`` fixture's."""
    return app_env(azurite, **app_settings(sims.endpoints.to_json()), **extra)


async def all_counts(stack: Stack) -> dict[str, dict[str, int]]:
    return {platform: await stack.counts(platform) for platform in PLATFORMS}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def patient(stack: Stack) -> httpx.AsyncClient:
    """An NH client that waits for a host busy with a fan-out (httpx's default is 5 s)."""
    http = stack.nh.client()
    http.timeout = httpx.Timeout(60.0)
    return http


async def send_template(stack: Stack, http: httpx.AsyncClient, expression: str | None) -> str:
    """A template send of the fleet's one template; None: to every device."""
    return await stack.send(http, json.dumps({"greeting": "hi"}), "template", expression)


__all__ = ["SIM_NAMES", "app"]
