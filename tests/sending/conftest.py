"""The whole local stack: Azurite, the PNS simulators, the host running Herald, and a hub
whose credentials point at the simulators."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.simulated import app_settings, hub_credentials
from emulator.pns import RunningSimulators
from shared.model.installation import parse_installation
from shared.pns.base import Platform
from shared.store.seeding import seed_installations
from support.processes import REPO, HostProcess, running_host
from support.stack import NhCaller, app_env, create_hub, engine_for

NS = "{http://schemas.microsoft.com/netservices/2010/10/servicebus/connect}"
SIM_NAMES = {
    "apns": "apns",
    "fcmv1": "fcm",
    "gcm": "fcm",
    "wns": "wns",
    "browser": "webpush",
    "adm": "adm",
    "baidu": "baidu",
    "xiaomi": "xiaomi",
}


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    env = app_env(azurite, **app_settings(sims.endpoints.to_json()))
    with running_host(REPO, env) as host:
        yield host


@dataclass
class Device:
    installation_id: str
    platform: str
    channel: Any  # the pushChannel as registered
    sim_key: str  # the handle the simulator records it under

    @property
    def sim(self) -> str:
        return SIM_NAMES[self.platform]


@dataclass
class Stack:
    sims: RunningSimulators
    nh: NhCaller

    async def device(self, platform: str) -> Device:
        installation_id = f"{platform}-{uuid.uuid4().hex[:12]}"
        token = secrets.token_hex(32)
        if platform == "wns":
            return Device(
                installation_id, platform, self.sims.endpoints.wns_channel_base + token, token
            )
        if platform == "browser":
            sub = await self.sims.control.create_webpush_subscription()
            channel = {"endpoint": sub["endpoint"], "p256dh": sub["p256dh"], "auth": sub["auth"]}
            return Device(installation_id, platform, channel, sub["id"])
        if platform in ("fcmv1", "gcm", "adm", "xiaomi"):
            token = "t" + secrets.token_urlsafe(60)
        if platform == "baidu":  # NH's handle is {userId}-{channelId}; Baidu sees the channel
            channel = str(secrets.randbelow(10**19))
            return Device(
                installation_id, platform, f"{secrets.randbelow(10**18)}-{channel}", channel
            )
        return Device(installation_id, platform, token, token)

    async def register(self, http: httpx.AsyncClient, device: Device, **fields: Any) -> None:
        body = {
            "installationId": device.installation_id,
            "platform": device.platform,
            "pushChannel": device.channel,
            **fields,
        }
        response = await http.put(
            f"/installations/{device.installation_id}", json=body, headers=self.nh.headers()
        )
        assert response.status_code == 200, response.text

    async def send(
        self,
        http: httpx.AsyncClient,
        body: bytes | str,
        format: str,
        tags: str | None = None,
        **headers: str,
    ) -> str:
        extra = {"ServiceBusNotification-Format": format, **headers}
        if tags is not None:
            extra["ServiceBusNotification-Tags"] = tags
        content_type = "application/xml" if format == "windows" else "application/json"
        response = await http.post(
            "/messages/",
            content=body,
            headers=self.nh.headers(**extra, **{"Content-Type": content_type}),
        )
        assert response.status_code == 201, response.text
        return httpx.URL(response.headers["Location"]).path.split("/")[3]

    async def details(self, http: httpx.AsyncClient, notification_id: str) -> ET.Element:
        response = await http.get(f"/messages/{notification_id}", headers=self.nh.headers())
        assert response.status_code == 200, response.text
        return ET.fromstring(response.content)

    async def finished(
        self, http: httpx.AsyncClient, notification_id: str, timeout: float = 120
    ) -> ET.Element:
        deadline = time.monotonic() + timeout
        while True:
            details = await self.details(http, notification_id)
            state = details.findtext(f"{NS}State")
            if state in ("Completed", "NoTargetFound", "Abandoned"):
                if state == "Completed":  # when its last step finished, by storage's clock
                    ended = details.findtext(f"{NS}EndTime")
                    assert ended is not None, "a completed send names its end"
                    assert ended >= str(details.findtext(f"{NS}EnqueueTime"))
                return details
            assert time.monotonic() < deadline, f"still {state}"
            await asyncio.sleep(0.2)

    async def counts(self, platform: str) -> dict[str, int]:
        return await self.sims.control.counts(SIM_NAMES[platform])


def outcome_counts(details: ET.Element) -> dict[str, dict[str, int]]:
    """{'Apns': {'Success': 3}, ...} from a NotificationDetails body."""
    found: dict[str, dict[str, int]] = {}
    for element in details:
        name = element.tag.removeprefix(NS)
        if name.endswith("OutcomeCounts"):
            found[name.removesuffix("OutcomeCounts")] = {
                outcome.findtext(f"{NS}Name") or "": int(outcome.findtext(f"{NS}Count") or 0)
                for outcome in element
            }
    return found


async def new_stack(app: HostProcess, azurite: str, sims: RunningSimulators, prefix: str) -> Stack:
    """Clean simulator records and a fresh hub whose credentials point at the simulators."""
    await sims.control.reset()
    credentials = hub_credentials(sims.endpoints.to_json(), sims.state_dir)
    hub = await create_hub(azurite, f"{prefix}{uuid.uuid4().hex[:10]}", credentials=credentials)
    return Stack(sims, NhCaller(app.url, hub))


@pytest.fixture
async def stack(app: HostProcess, azurite: str, sims: RunningSimulators) -> Stack:
    return await new_stack(app, azurite, sims, "send")


async def seed_tagged(azurite: str, stack: Stack, count: int, tag: str) -> list[str]:
    """``count`` APNs installations carrying ``tag``, bulk-seeded; their handles."""
    bodies = [
        {
            "installationId": f"{tag}-{n:04d}",
            "platform": "apns",
            "pushChannel": f"{n:08x}" * 8,
            "tags": [tag],
        }
        for n in range(count)
    ]
    hub = stack.nh.hub
    engine = engine_for(azurite)
    try:
        await seed_installations(
            engine.tables,
            hub.name,
            hub.shard_count,
            [parse_installation(body, max_tags=hub.max_tags) for body in bodies],
        )
    finally:
        await engine.aclose()
    return [str(body["pushChannel"]) for body in bodies]


__all__ = ["NS", "Platform", "Stack", "outcome_counts"]
