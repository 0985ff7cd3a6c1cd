"""Issuers' keys: discovery, caching, refresh on an unknown kid with a rate limit, outages.

The issuers are served to httpx without sockets and the cache runs on a clock the test moves.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth.bearer import BearerSettings
from shared.auth.issuers import KEYS_MAX_AGE, STALE_LIMIT, BearerVerifier, KeySet
from shared.auth.sas import AccessRight
from shared.errors import IdentityProviderUnavailableError, UnauthorizedError
from support.oidc import AUDIENCE, IssuerRegistry, OidcIssuer, SigningKey, mock_transport

COOLDOWN = 30.0


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Fixture:
    registry: IssuerRegistry
    issuer: OidcIssuer
    second: OidcIssuer
    untrusted: OidcIssuer
    clock: Clock
    verifier: BearerVerifier

    async def rights(self, token: str) -> frozenset[AccessRight]:
        return (await self.verifier.verify(token, now=self.clock.now)).rights_on("myhub")


@pytest.fixture
async def oidc() -> AsyncIterator[Fixture]:
    registry = IssuerRegistry("https://login.test")
    issuer, second, untrusted = registry.add("a"), registry.add("b"), registry.add("c")
    clock = Clock()
    settings = BearerSettings(
        issuers=(issuer.url, second.url), audiences=(AUDIENCE,), refresh_cooldown_seconds=COOLDOWN
    )
    http = httpx.AsyncClient(transport=mock_transport(registry))
    verifier = BearerVerifier(settings, http, clock=clock)
    yield Fixture(registry, issuer, second, untrusted, clock, verifier)
    await verifier.aclose()


def _token(issuer: OidcIssuer, clock: Clock, *roles: str) -> str:
    # The token's own times are wall-clock ones; the cache's clock is separate.
    return issuer.token(*roles or ("Herald.Send",), now=clock.now)


async def test_keys_are_discovered_once_and_then_served_from_the_cache(oidc: Fixture) -> None:
    for _ in range(5):
        assert await oidc.rights(_token(oidc.issuer, oidc.clock)) == {AccessRight.SEND}
    assert oidc.issuer.requests == {"discovery": 1, "jwks": 1}


async def test_a_cold_cache_reads_once_however_many_requests_wait(oidc: Fixture) -> None:
    token = _token(oidc.issuer, oidc.clock)
    answers = await asyncio.gather(*(oidc.rights(token) for _ in range(20)))
    assert all(rights == {AccessRight.SEND} for rights in answers)
    assert oidc.issuer.requests == {"discovery": 1, "jwks": 1}


async def test_a_rotated_key_is_fetched_when_a_token_names_it(oidc: Fixture) -> None:
    old = _token(oidc.issuer, oidc.clock)
    await oidc.rights(old)
    oidc.issuer.rotate()  # the old key is withdrawn
    oidc.clock.now += COOLDOWN
    assert await oidc.rights(_token(oidc.issuer, oidc.clock)) == {AccessRight.SEND}
    assert oidc.issuer.requests["jwks"] == 2
    with pytest.raises(UnauthorizedError, match="publishes no signing key"):
        await oidc.rights(old)


async def test_unknown_kids_refresh_at_most_once_per_cooldown(oidc: Fixture) -> None:
    await oidc.rights(_token(oidc.issuer, oidc.clock))
    stranger = OidcIssuer(oidc.issuer.url)  # same iss, keys the issuer never published
    for _ in range(10):
        oidc.clock.now += COOLDOWN / 10 - 0.01
        with pytest.raises(UnauthorizedError, match="publishes no signing key"):
            await oidc.rights(stranger.token("Herald.Manage", now=oidc.clock.now))
    assert oidc.issuer.requests["jwks"] == 1  # still inside the first read's cooldown
    oidc.clock.now += 1
    with pytest.raises(UnauthorizedError):
        await oidc.rights(stranger.token("Herald.Manage", now=oidc.clock.now))
    assert oidc.issuer.requests["jwks"] == 2


async def test_keys_are_read_again_when_old(oidc: Fixture) -> None:
    await oidc.rights(_token(oidc.issuer, oidc.clock))
    oidc.clock.now += KEYS_MAX_AGE
    await oidc.rights(_token(oidc.issuer, oidc.clock))
    assert oidc.issuer.requests == {"discovery": 1, "jwks": 2}


async def test_an_issuer_that_cannot_be_reached_is_503_and_not_hammered(oidc: Fixture) -> None:
    oidc.issuer.down = True
    token = _token(oidc.issuer, oidc.clock)
    for _ in range(3):
        with pytest.raises(IdentityProviderUnavailableError):
            await oidc.rights(token)
    oidc.issuer.down = False
    with pytest.raises(IdentityProviderUnavailableError):
        await oidc.rights(token)  # within the cooldown of the failed read
    oidc.clock.now += COOLDOWN
    assert await oidc.rights(token) == {AccessRight.SEND}


async def test_held_keys_serve_on_while_the_issuer_is_down(oidc: Fixture) -> None:
    await oidc.rights(_token(oidc.issuer, oidc.clock))
    oidc.issuer.down = True
    oidc.clock.now += KEYS_MAX_AGE
    assert await oidc.rights(_token(oidc.issuer, oidc.clock)) == {AccessRight.SEND}
    oidc.clock.now += STALE_LIMIT
    with pytest.raises(IdentityProviderUnavailableError):
        await oidc.rights(_token(oidc.issuer, oidc.clock))


async def test_a_new_kid_while_the_issuer_is_down_is_503_not_401(oidc: Fixture) -> None:
    """The issuer may have rotated just before it went down: the token is not known bad."""
    await oidc.rights(_token(oidc.issuer, oidc.clock))
    oidc.issuer.down = True
    oidc.issuer.rotate(keep_old=True)
    oidc.clock.now += COOLDOWN
    with pytest.raises(IdentityProviderUnavailableError):
        await oidc.rights(_token(oidc.issuer, oidc.clock))
    oidc.issuer.down = False
    oidc.clock.now += COOLDOWN
    assert await oidc.rights(_token(oidc.issuer, oidc.clock)) == {AccessRight.SEND}


async def test_a_discovery_document_for_another_issuer_is_not_believed(oidc: Fixture) -> None:
    impostor = OidcIssuer(oidc.untrusted.url)
    oidc.registry.issuers[oidc.issuer.url] = impostor  # answers at a's URL, naming c
    with pytest.raises(IdentityProviderUnavailableError):
        await oidc.rights(_token(oidc.issuer, oidc.clock))
    assert impostor.requests == {"discovery": 1}


async def test_a_configured_jwks_uri_skips_discovery() -> None:
    registry = IssuerRegistry("https://login.test")
    issuer = registry.add("a")
    settings = BearerSettings(
        issuers=(issuer.url,), audiences=(AUDIENCE,), jwks_uri=issuer.url + "/discovery/v2.0/keys"
    )
    http = httpx.AsyncClient(transport=mock_transport(registry))
    verifier = BearerVerifier(settings, http)
    await verifier.verify(issuer.token("Herald.Listen", now=Clock().now), now=Clock().now)
    await verifier.aclose()
    assert issuer.requests == {"jwks": 1}


async def test_a_second_trusted_issuer_signs_with_its_own_keys(oidc: Fixture) -> None:
    assert await oidc.rights(_token(oidc.second, oidc.clock, "Herald.Manage")) == {
        AccessRight.MANAGE
    }
    assert oidc.issuer.requests == {}


async def test_a_token_from_an_untrusted_issuer_costs_no_request(oidc: Fixture) -> None:
    with pytest.raises(UnauthorizedError, match="not one this deployment trusts"):
        await oidc.rights(_token(oidc.untrusted, oidc.clock))
    assert oidc.untrusted.requests == {}


async def test_a_trusted_iss_signed_by_another_issuer_s_key_is_refused(oidc: Fixture) -> None:
    await oidc.rights(_token(oidc.issuer, oidc.clock))
    oidc.clock.now += COOLDOWN
    forged = oidc.second.current.sign(oidc.issuer.claims(["Herald.Manage"], now=oidc.clock.now))
    with pytest.raises(UnauthorizedError, match="publishes no signing key"):
        await oidc.rights(forged)
    assert oidc.second.requests == {}


async def test_a_token_for_another_audience_is_refused(oidc: Fixture) -> None:
    with pytest.raises(UnauthorizedError, match="audience"):
        await oidc.rights(oidc.issuer.token("Herald.Send", now=oidc.clock.now, aud="api://x"))


async def test_an_expired_token_is_refused(oidc: Fixture) -> None:
    token = oidc.issuer.token("Herald.Send", now=oidc.clock.now - 7200)
    with pytest.raises(UnauthorizedError, match="expired"):
        await oidc.rights(token)


# The rate limit as a property of the cache's state alone.

_ANY_KEY = jwt.PyJWK(SigningKey.generate("ES256").jwk())
_steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=2 * COOLDOWN), st.sampled_from(["k1", "k2", "x"])),
    max_size=60,
)


@given(steps=_steps, failing=st.booleans())
def test_reads_are_never_closer_than_the_cooldown(
    steps: list[tuple[float, str]], failing: bool
) -> None:
    state, now, reads = KeySet(COOLDOWN), 0.0, []
    keys = {"k1": _ANY_KEY}
    for delay, kid in steps:
        now += delay
        if state.wants_fetch(kid, now):
            reads.append(now)
            if failing:
                state.failed(now)
            else:
                state.fetched(keys, now)
        fresh = state.fetched_at is not None and now - state.fetched_at < KEYS_MAX_AGE
        # A known kid in a fresh set never waits for a read.
        if fresh and kid in state.keys:
            assert state.key(kid, now) is not None
    assert all(later - earlier >= COOLDOWN for earlier, later in itertools.pairwise(reads))
    if steps:
        assert reads[:1] == [steps[0][0]]  # the very first request reads
