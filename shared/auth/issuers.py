"""The signing keys of trusted issuers, fetched over HTTPS and cached; bearer verification.

Each trusted issuer has its own key set, read from its JWKS: the ``jwks_uri`` of its OIDC
discovery document (``{issuer}/.well-known/openid-configuration``, whose ``issuer`` must be
the issuer itself) unless the deployment names the JWKS. The set is read again when it is
older than :data:`KEYS_MAX_AGE`, or when a token names a ``kid`` the set lacks (the issuer has
rotated its key) — but never twice within the refresh cooldown, so tokens with made-up kids
cannot make Herald hammer the issuer. One read per issuer at a time; requests that need it
meanwhile wait for it. When a read fails, the keys already held keep serving, up to
:data:`STALE_LIMIT`; with none, the request gets a 503.

PyJWKClient does the same with urllib under a thread lock; here the reads are httpx's, so they
never block the event loop (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from shared.auth.bearer import (
    BearerSettings,
    RoleGrants,
    discovery_url,
    read_head,
    role_grants,
    signing_keys,
    verify_claims,
)
from shared.errors import IdentityProviderUnavailableError, UnauthorizedError

log = logging.getLogger(__name__)

KEYS_MAX_AGE = 300.0  # seconds before a key set is read again (as PyJWKClient's lifespan)
STALE_LIMIT = 86_400.0  # how long held keys serve on while the issuer cannot be reached
FETCH_TIMEOUT = 10.0

Clock = Callable[[], float]


class _FetchFailed(Exception):
    """A discovery or JWKS read that did not produce keys; the message says why."""


@dataclass
class KeySet:
    """When one issuer's keys should be read, and which are held (sans-IO).

    Times come from a monotonic clock, so a wall-clock jump neither expires nor freezes keys.
    """

    cooldown: float
    keys: Mapping[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float | None = None  # the last read that produced keys
    tried_at: float | None = None  # the last read, whatever came of it

    def key(self, kid: str, now: float) -> jwt.PyJWK | None:
        if not self.usable(now):
            return None
        return self.keys.get(kid)

    def usable(self, now: float) -> bool:
        return self.fetched_at is not None and now - self.fetched_at < STALE_LIMIT

    @property
    def last_read_failed(self) -> bool:
        """Then a kid missing from the keys held may be one the issuer has just published."""
        return self.tried_at is not None and self.tried_at != self.fetched_at

    def wants_fetch(self, kid: str, now: float) -> bool:
        """Whether a token naming ``kid`` should make us read the keys now."""
        if self.tried_at is not None and now - self.tried_at < self.cooldown:
            return False
        if self.fetched_at is None or now - self.fetched_at >= KEYS_MAX_AGE:
            return True
        return kid not in self.keys

    def fetched(self, keys: Mapping[str, jwt.PyJWK], now: float) -> None:
        self.keys, self.fetched_at, self.tried_at = dict(keys), now, now

    def failed(self, now: float) -> None:
        self.tried_at = now


class IssuerKeys:
    """One trusted issuer's key set and the reads that fill it."""

    def __init__(
        self,
        issuer: str,
        http: httpx.AsyncClient,
        *,
        jwks_uri: str | None,
        cooldown: float,
        clock: Clock,
    ) -> None:
        self.issuer = issuer
        self._http = http
        self._configured_jwks_uri = jwks_uri
        self._jwks_uri = jwks_uri
        self._state = KeySet(cooldown)
        self._clock = clock
        self._reading = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key named ``kid``: 401 when the issuer does not publish it, 503 when it is not
        held and the issuer's keys could not be read."""
        if self._state.wants_fetch(kid, self._clock()):
            async with self._reading:
                if self._state.wants_fetch(kid, self._clock()):  # nobody read them meanwhile
                    await self._refresh()
        found = self._state.key(kid, self._clock())
        if found is not None:
            return found
        if self._state.last_read_failed or not self._state.usable(self._clock()):
            raise IdentityProviderUnavailableError(
                f"The signing keys of {self.issuer} could not be read; try again later."
            )
        raise UnauthorizedError(
            f"BearerToken: the issuer publishes no signing key {kid[:100]!r} (kid)."
        )

    async def _refresh(self) -> None:
        try:
            keys = await self._read_keys()
        except _FetchFailed as error:
            self._state.failed(self._clock())
            self._jwks_uri = self._configured_jwks_uri  # discover again next time
            held = "keeping the keys held" if self._state.usable(self._clock()) else "none held"
            log.warning("Reading the keys of %s failed (%s); %s.", self.issuer, error, held)
            return
        self._state.fetched(keys, self._clock())
        log.info("Read %d signing keys of %s.", len(keys), self.issuer)

    async def _read_keys(self) -> dict[str, jwt.PyJWK]:
        if self._jwks_uri is None:
            self._jwks_uri = await self._discover()
        keys = signing_keys(await self._get_json(self._jwks_uri))
        if not keys:
            raise _FetchFailed(f"{self._jwks_uri} holds no RS256 or ES256 signing key")
        return keys

    async def _discover(self) -> str:
        url = discovery_url(self.issuer)
        document = await self._get_json(url)
        if document.get("issuer") != self.issuer:
            raise _FetchFailed(f"{url} names another issuer, {document.get('issuer')!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise _FetchFailed(f"{url} names no https jwks_uri")
        return jwks_uri

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise _FetchFailed(f"GET {url}: {type(error).__name__} {error}") from error
        if response.status_code != 200:
            raise _FetchFailed(f"GET {url} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as error:
            raise _FetchFailed(f"GET {url} answered no JSON") from error
        if not isinstance(body, dict):
            raise _FetchFailed(f"GET {url} answered no JSON object")
        return body


class BearerVerifier:
    """Verifies bearer tokens against the deployment's trusted issuers; built once a process."""

    def __init__(
        self, settings: BearerSettings, http: httpx.AsyncClient, *, clock: Clock = time.monotonic
    ) -> None:
        self.settings = settings
        self._http = http
        self._issuers = {
            issuer: IssuerKeys(
                issuer,
                http,
                jwks_uri=settings.jwks_uri,
                cooldown=settings.refresh_cooldown_seconds,
                clock=clock,
            )
            for issuer in settings.issuers
        }

    @classmethod
    def build(cls, settings: BearerSettings) -> BearerVerifier:
        """With its own HTTPS client: system roots plus ``ca_file``, no redirects followed."""
        context = ssl.create_default_context()
        if settings.ca_file:
            context.load_verify_locations(cafile=settings.ca_file)
        http = httpx.AsyncClient(verify=context, timeout=FETCH_TIMEOUT, follow_redirects=False)
        return cls(settings, http)

    async def verify(self, token: str, *, now: float) -> RoleGrants:
        """What the roles of a valid ``token`` grant; 401 for any defect, 503 when its
        issuer's keys cannot be read."""
        head = read_head(token, self._issuers)
        key = await self._issuers[head.issuer].key(head.kid)
        claims = verify_claims(
            token,
            key,
            issuer=head.issuer,
            audiences=self.settings.audiences,
            now=now,
            leeway=self.settings.leeway_seconds,
        )
        return role_grants(
            claims, claim=self.settings.roles_claim, prefix=self.settings.role_prefix
        )

    async def aclose(self) -> None:
        await self._http.aclose()
