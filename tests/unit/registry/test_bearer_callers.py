"""A bearer caller is its rights: Listen alone is a device, under the same rules as a Listen key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.auth.bearer import BearerSettings
from shared.auth.issuers import BearerVerifier
from shared.auth.sas import AccessRight, PublicHosts, generate_sas_token
from shared.errors import ForbiddenError, UnauthorizedError
from shared.http import HttpRequestData
from shared.hubs.model import FULL_POLICY, Hub, TagPolicy
from shared.model.channels import InstallationPlatform
from shared.model.installation import Installation
from shared.registry import access
from support.oidc import AUDIENCE, IssuerRegistry, OidcIssuer, mock_transport

HUB = Hub.new("bearerhub", tag_policy=TagPolicy(allow=("*",), reserved=("vip",)))
URL = "https://localhost/bearerhub/installations/phone"
_REGISTRY = IssuerRegistry("https://login.test")
ISSUER: OidcIssuer = _REGISTRY.add("tenant")


@pytest.fixture(scope="module")
async def verifier() -> AsyncIterator[BearerVerifier]:
    settings_ = BearerSettings(issuers=(ISSUER.url,), audiences=(AUDIENCE,))
    built = BearerVerifier(settings_, httpx.AsyncClient(transport=mock_transport(_REGISTRY)))
    yield built
    await built.aclose()


def _request(authorization: str) -> HttpRequestData:
    return HttpRequestData("PUT", URL, {"authorization": authorization}, {}, {"hub": HUB.name})


async def _caller(
    verifier: BearerVerifier | None, *roles: str, required: AccessRight = AccessRight.LISTEN
) -> access.Caller:
    request = _request(f"Bearer {ISSUER.token(*roles)}")
    return await access.authenticate(
        request, HUB, required, public_hosts=PublicHosts(), bearer=verifier
    )


def _installation(*tags: str) -> Installation:
    return Installation(
        installation_id="phone",
        platform=InstallationPlatform.APNS,
        push_channel="00fe",
        tags=tags,
    )


async def test_a_listen_role_is_a_device_bound_by_the_tag_policy(verifier: BearerVerifier) -> None:
    device = await _caller(verifier, "Herald.Listen.bearerhub")
    assert device.rights == {AccessRight.LISTEN}
    assert device.policy is None
    assert device.listen_only
    access.check_write(device, HUB, None, _installation("news"))
    with pytest.raises(ForbiddenError, match="'vip'"):
        access.check_write(device, HUB, None, _installation("vip"))
    with pytest.raises(ForbiddenError, match="Send or Manage"):
        access.check_read(device, HUB, _installation("vip"))


async def test_listen_with_send_is_the_backend(verifier: BearerVerifier) -> None:
    backend = await _caller(verifier, "Herald.Send", "Herald.Listen.bearerhub")
    assert not backend.listen_only
    access.check_write(backend, HUB, None, _installation("vip"))


async def test_a_role_for_another_hub_is_403(verifier: BearerVerifier) -> None:
    with pytest.raises(ForbiddenError, match="Listen claim is required"):
        await _caller(verifier, "Herald.Manage.otherhub", "Other.Manage")


async def test_without_a_trusted_issuer_a_bearer_token_is_401() -> None:
    with pytest.raises(UnauthorizedError, match="trusts no token issuer"):
        await _caller(None, "Herald.Manage")


async def test_sas_callers_carry_their_policy_name(verifier: BearerVerifier) -> None:
    policy = HUB.policies[FULL_POLICY]
    token = generate_sas_token(
        "https://localhost/", key_name=policy.name, key=policy.primary_key, expiry=4_000_000_000
    )
    caller = await access.authenticate(
        _request(token), HUB, AccessRight.MANAGE, public_hosts=PublicHosts(), bearer=verifier
    )
    assert (caller.policy, caller.rights, caller.listen_only) == (policy.name, policy.rights, False)


_ROLES = [f"Herald.{right.value}{hub}" for right in AccessRight for hub in ("", ".bearerhub", ".x")]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(roles=st.lists(st.sampled_from(_ROLES), max_size=4), required=st.sampled_from(AccessRight))
async def test_a_route_is_open_exactly_to_the_roles_granting_its_right(
    verifier: BearerVerifier, roles: list[str], required: AccessRight
) -> None:
    here = {r.split(".")[1] for r in roles if not r.endswith(".x")}
    allowed = required.value in here or AccessRight.MANAGE.value in here
    try:
        caller = await _caller(verifier, *roles, required=required)
    except ForbiddenError:
        assert not allowed
    else:
        assert allowed
        assert caller.listen_only == here.isdisjoint({"Send", "Manage"})
