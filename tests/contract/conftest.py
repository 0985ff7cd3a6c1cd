from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.simulated import app_settings, hub_credentials
from emulator.pns import RunningSimulators
from shared.pns.base import Platform, PushMessage, Sender, WebPushKeys
from shared.pns.options import PnsOptions
from shared.pns.registry import build_sender

# shared.pns platform -> the simulators' name for it
SIM_NAMES = {
    Platform.APNS: "apns",
    Platform.FCMV1: "fcm",
    Platform.WNS: "wns",
    Platform.BROWSER: "webpush",
    Platform.ADM: "adm",
    Platform.BAIDU: "baidu",
    Platform.XIAOMI: "xiaomi",
}
PAYLOADS: dict[Platform, tuple[bytes, dict[str, str]]] = {
    Platform.APNS: (b'{"aps":{"alert":"hello"}}', {}),
    Platform.FCMV1: (b'{"message":{"notification":{"title":"hello"}}}', {}),
    Platform.WNS: (
        b"<toast><visual><binding template='ToastGeneric'><text>hello</text>"
        b"</binding></visual></toast>",
        {"X-WNS-Type": "wns/toast"},
    ),
    Platform.BROWSER: (b'{"title":"hello"}', {"TTL": "60"}),
    Platform.ADM: (b'{"data":{"message":"hello"}}', {}),
    Platform.BAIDU: (b'{"title":"hello","description":"from Herald"}', {}),
    Platform.XIAOMI: (b'{"title":"hello","description":"from Herald","payload":"p"}', {}),
}


@dataclass
class Device:
    """A handle the simulator accepts, and the key it records deliveries under."""

    handle: str
    sim_key: str
    keys: WebPushKeys | None = None


@dataclass
class Contract:
    sims: RunningSimulators
    platform: Platform

    @property
    def sim(self) -> str:
        return SIM_NAMES[self.platform]

    def options(self) -> PnsOptions:
        settings = app_settings(self.sims.endpoints.to_json())
        return PnsOptions(
            ca_file=settings["HERALD_PNS_CA_FILE"],
            allowed_test_hosts=tuple(settings["HERALD_PNS_ALLOWED_TEST_HOSTS"].split(",")),
        )

    def credentials(self) -> dict[str, Any]:
        return hub_credentials(self.sims.endpoints.to_json(), self.sims.state_dir)[self.platform]

    def sender(self, **overrides: Any) -> Sender:
        return build_sender(self.platform, {**self.credentials(), **overrides}, self.options())

    async def device(self) -> Device:
        token = secrets.token_hex(32)
        if self.platform is Platform.WNS:
            return Device(self.sims.endpoints.wns_channel_base + token, token)
        if self.platform is Platform.BROWSER:
            sub = await self.sims.control.create_webpush_subscription()
            return Device(sub["endpoint"], sub["id"], WebPushKeys(sub["p256dh"], sub["auth"]))
        if self.platform is Platform.FCMV1:
            token = "f" + secrets.token_urlsafe(100)
        if self.platform is Platform.BAIDU:  # NH's handle is {userId}-{channelId}
            channel = str(secrets.randbelow(10**19))
            return Device(f"{secrets.randbelow(10**18)}-{channel}", channel)
        if self.platform is Platform.XIAOMI:
            token = secrets.token_urlsafe(33) + "="
        return Device(token, token)

    def message(self, device: Device, payload: bytes | None = None) -> PushMessage:
        body, headers = PAYLOADS[self.platform]
        return PushMessage(device.handle, payload or body, headers, device.keys)


@pytest.fixture(params=list(SIM_NAMES), ids=[p.value for p in SIM_NAMES])
async def contract(request: pytest.FixtureRequest, sims: RunningSimulators) -> Contract:
    await sims.control.reset()
    return Contract(sims, request.param)
