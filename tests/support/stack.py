"""The Herald app under a real emulator process, with a hub created in its storage."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from shared.auth.sas import generate_sas_token
from shared.config import Settings
from shared.engine import Engine
from shared.hubs.model import FULL_POLICY, LISTEN_POLICY, Hub
from shared.hubs.secrets import new_secret_key

SECRET_KEY = new_secret_key()


def app_env(storage: str, **extra: str) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": storage,
        "HERALD_SECRET_KEY": SECRET_KEY,
        "HERALD_FEEDBACK_SCHEDULE": "0 0 0 1 1 *",
        "HERALD_PENDING_GRACE_SECONDS": "0",
        **extra,
    }


def engine_for(storage: str) -> Engine:
    return Engine.build(Settings.from_env(app_env(storage)))


async def create_hub(storage: str, name: str, **settings: Any) -> Hub:
    engine = engine_for(storage)
    try:
        return await engine.hubs.create_hub(Hub.new(name, **settings))
    finally:
        await engine.aclose()


async def replace_hub(storage: str, hub: Hub) -> Hub:
    engine = engine_for(storage)
    try:
        return await engine.hubs.replace_hub(hub)
    finally:
        await engine.aclose()


@dataclass
class NhCaller:
    """Signs requests for one policy of one hub, as the NH JS SDK does (sr = root)."""

    base_url: str
    hub: Hub
    policy: str = FULL_POLICY
    lifetime: int = 600

    def token(
        self, *, key: str | None = None, sr: str | None = None, expiry: int | None = None
    ) -> str:
        policy = self.hub.policies[self.policy]
        return generate_sas_token(
            sr or self.base_url.rstrip("/") + "/",
            key_name=policy.name,
            key=key or policy.primary_key,
            expiry=expiry or int(time.time()) + self.lifetime,
        )

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": self.token(), **extra}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{self.base_url}/{self.hub.name}", params={"api-version": "2020-06"}
        )

    def as_listen(self) -> NhCaller:
        return NhCaller(self.base_url, self.hub, LISTEN_POLICY, self.lifetime)


def installation(installation_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "installationId": installation_id,
        "platform": "apns",
        "pushChannel": "00fe" + installation_id.encode().hex(),
    }
    body.update(fields)
    return body


def without_timestamps(wire: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wire.items() if k not in ("lastUpdate", "lastActiveOn")}
