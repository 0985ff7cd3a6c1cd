"""Bearer tokens end to end: local OIDC issuers over loopback HTTPS, the host trusting two of
them, the PNS simulators, and a hub per test whose credentials point at the simulators."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sending.conftest import Stack, new_stack

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from emulator.pns.certs import CertPaths, ensure_certs
from shared.hubs.model import TagPolicy
from support.oidc import AUDIENCE, IssuerRegistry, OidcIssuer, issuer_server
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env, replace_hub

RESERVED_TAG = "vip"


@dataclass
class Issuers:
    certs: CertPaths
    registry: IssuerRegistry
    trusted: OidcIssuer
    second: OidcIssuer  # trusted as well
    untrusted: OidcIssuer
    offline: OidcIssuer  # trusted, but down until a test brings it up


@pytest.fixture(scope="module")
async def issuers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Issuers]:
    certs = ensure_certs(tmp_path_factory.mktemp("oidc-tls"))
    async with issuer_server(certs) as registry:
        offline = registry.add("tenant-d/v2.0")
        offline.down = True
        yield Issuers(
            certs,
            registry,
            registry.add("tenant-a/v2.0"),
            registry.add("tenant-b/v2.0"),
            registry.add("elsewhere"),
            offline,
        )


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators, issuers: Issuers) -> Iterator[HostProcess]:
    """The host trusting issuers a, b and d. No refresh cooldown, so that a rotation shows at once
    (the cooldown itself is tested in tests/unit/auth/test_issuers.py)."""
    env = app_env(
        azurite,
        **app_settings(sims.endpoints.to_json()),
        HERALD_AUTH_ISSUER=",".join(
            issuer.url for issuer in (issuers.trusted, issuers.second, issuers.offline)
        ),
        HERALD_AUTH_AUDIENCE=AUDIENCE,
        HERALD_AUTH_CA_FILE=str(issuers.certs.ca_file),
        HERALD_AUTH_REFRESH_COOLDOWN_SECONDS="0",
    )
    with running_host(REPO, env) as host:
        yield host


@dataclass
class Bearer:
    """Plain HTTP calls to one hub, with tokens from an issuer."""

    stack: Stack
    issuer: OidcIssuer

    @property
    def hub(self) -> str:
        return self.stack.nh.hub.name

    def role(self, right: str) -> str:
        """The role granting ``right`` on this hub only."""
        return f"Herald.{right}.{self.hub}"

    def headers(self, *roles: str, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.issuer.token(*roles)}", **extra}

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{self.stack.nh.base_url}/{self.hub}",
            params={"api-version": "2020-06"},
            timeout=60,
        )


@pytest.fixture
async def bearer(
    app: HostProcess, azurite: str, sims: RunningSimulators, issuers: Issuers
) -> Bearer:
    """A fresh hub whose tag policy reserves ``vip`` for the backend."""
    stack = await new_stack(app, azurite, sims, "br")
    hub = replace(stack.nh.hub, tag_policy=TagPolicy(allow=("*",), reserved=(RESERVED_TAG,)))
    await replace_hub(azurite, hub)
    return Bearer(replace(stack, nh=replace(stack.nh, hub=hub)), issuers.trusted)


def installation(installation_id: str | None = None, **fields: Any) -> dict[str, Any]:
    installation_id = installation_id or f"phone-{uuid.uuid4().hex[:8]}"
    return {
        "installationId": installation_id,
        "platform": "apns",
        "pushChannel": "00fe" + installation_id.encode().hex(),
        **fields,
    }
