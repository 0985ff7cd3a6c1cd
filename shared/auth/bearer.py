"""Bearer tokens: JWTs from an identity provider the deployment trusts, their roles as rights.

A backend that signs in with Microsoft Entra ID (a managed identity or an app registration)
sends ``Authorization: Bearer <jwt>`` where others send a SAS token. The token must be signed
with RS256 or ES256 by a key its issuer publishes (never ``none``, never HS*), name one of the
deployment's trusted issuers (``iss``) and audiences (``aud``), and be within its times
(``exp``, ``nbf``, ``iat``, with a small leeway).

Its roles (the ``roles`` claim by default; a space-separated string counts as a list) grant
rights, the prefix ``Herald.`` by default:

=========================  ====================================
role                       grants
=========================  ====================================
``Herald.Listen``          Listen on every hub
``Herald.Send``            Send on every hub
``Herald.Manage``          Manage (so Send and Listen) on every hub
``Herald.Send.myhub``      Send on the hub ``myhub`` only (and so on for each right)
=========================  ====================================

Role values are case-sensitive; other roles are ignored. A token whose roles grant nothing
that the route needs gets NH's 403, as a SAS policy without the right does.

This module is the sans-IO half: reading the header, choosing the issuer, checking claims
against a key and mapping roles to rights. :mod:`shared.auth.issuers` fetches and caches keys.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from shared.auth._times import check_times, decode_options
from shared.auth.sas import AccessRight
from shared.errors import UnauthorizedError

BEARER_SCHEME = "Bearer"
ALGORITHMS = ("RS256", "ES256")
ENTRA_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_ROLES_CLAIM = "roles"
DEFAULT_ROLE_PREFIX = "Herald."
DEFAULT_LEEWAY_SECONDS = 60.0
DEFAULT_REFRESH_COOLDOWN_SECONDS = 30.0
_LABEL = "BearerToken"
_RIGHTS = {right.value: right for right in AccessRight}

# pyjwt's error, and what the caller is told; the first matching row wins (subclasses first).
_JWT_ERRORS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidAlgorithmError, "the token's alg does not match its key"),
    (jwt.InvalidSignatureError, "the signature does not verify"),
    (jwt.MissingRequiredClaimError, "a required claim (iss, aud, exp) is missing"),
    (jwt.InvalidIssuerError, "the issuer (iss) is not the one that signed it"),
    (jwt.InvalidAudienceError, "the audience (aud) is not this deployment's"),
    (jwt.DecodeError, "the token is not a well-formed JWT"),
    (jwt.PyJWTError, "the token is invalid"),
)


@dataclass(frozen=True)
class BearerSettings:
    """Which issuers and audiences a deployment trusts, and how roles become rights."""

    issuers: tuple[str, ...]
    audiences: tuple[str, ...]
    # The JWKS address; None: found by OIDC discovery at {issuer}/.well-known/openid-configuration.
    jwks_uri: str | None = None
    roles_claim: str = DEFAULT_ROLES_CLAIM
    role_prefix: str = DEFAULT_ROLE_PREFIX
    leeway_seconds: float = DEFAULT_LEEWAY_SECONDS
    # The least time between two reads of one issuer's keys (a token naming an unknown kid
    # asks for one; so does a key set past its age).
    refresh_cooldown_seconds: float = DEFAULT_REFRESH_COOLDOWN_SECONDS
    # An extra CA bundle trusted for the issuers' HTTPS besides the system roots (tests).
    ca_file: str | None = None


@dataclass(frozen=True)
class TokenHead:
    """What a token says about who signed it, read before anything in it is believed."""

    issuer: str
    kid: str


@dataclass(frozen=True)
class RoleGrant:
    right: AccessRight
    hub: str | None  # None: every hub


@dataclass(frozen=True)
class RoleGrants:
    """The rights a verified token's roles grant, hub by hub."""

    grants: frozenset[RoleGrant]

    def rights_on(self, hub: str) -> frozenset[AccessRight]:
        return frozenset(g.right for g in self.grants if g.hub is None or g.hub == hub)


def entra_issuer(tenant: str) -> str:
    """The issuer of Entra ID's v2.0 tokens for ``tenant`` (a tenant id or domain)."""
    return f"{ENTRA_AUTHORITY}/{tenant}/v2.0"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def bearer_token(header: str | None) -> str | None:
    """The JWT of a ``Bearer`` ``Authorization`` header; None for any other scheme (SAS)."""
    if header is None:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != BEARER_SCHEME.lower():
        return None
    token = rest.strip()
    if not token:
        raise _unauthorized("the Authorization header holds no token")
    return token


def read_head(token: str, trusted: Collection[str]) -> TokenHead:
    """The trusted issuer and the key id that should verify ``token``; 401 when there are none.

    Only the header's ``alg`` and ``kid`` and the payload's ``iss`` are read, and only to pick
    a key: an issuer outside ``trusted`` is refused here, so no token makes Herald fetch
    anything from an address it names.
    """
    try:
        header = jwt.get_unverified_header(token)
        payload = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, UnicodeError, ValueError) as error:
        raise _unauthorized("the token is not a well-formed JWT") from error
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        shown = str(algorithm)[:20]
        raise _unauthorized(f"the token's alg {shown!r} is not one of {', '.join(ALGORITHMS)}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _unauthorized("the token names no signing key (kid)")
    issuer = payload.get("iss")
    if not isinstance(issuer, str) or issuer not in trusted:
        shown = str(issuer)[:100]
        raise _unauthorized(f"the issuer (iss) {shown!r} is not one this deployment trusts")
    return TokenHead(issuer, kid)


def verify_claims(
    token: str,
    key: jwt.PyJWK,
    *,
    issuer: str,
    audiences: Iterable[str],
    now: float,
    leeway: float,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature (with ``key``), issuer, audience and times
    check out; any failure is :class:`UnauthorizedError`."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=list(ALGORITHMS),
            audience=list(audiences),
            issuer=issuer,
            options=decode_options(["iss", "aud", "exp"]),
        )
    except jwt.PyJWTError as error:
        reason = next(text for kind, text in _JWT_ERRORS if isinstance(error, kind))
        raise _unauthorized(reason) from error
    except (UnicodeError, ValueError) as error:
        raise _unauthorized("the token is not a well-formed JWT") from error
    check_times(claims, now=now, leeway=leeway, label=_LABEL)
    return claims


def parse_role(role: str, prefix: str) -> RoleGrant | None:
    """``Herald.Send`` or ``Herald.Send.myhub`` as a grant; None for any other role."""
    if not role.startswith(prefix):
        return None
    name, dot, hub = role[len(prefix) :].partition(".")
    right = _RIGHTS.get(name)
    if right is None or (dot and not hub):
        return None
    return RoleGrant(right, hub or None)


def roles_of(claims: Mapping[str, Any], claim: str) -> tuple[str, ...]:
    """The roles in ``claim``: a list of strings, or one space-separated string (as ``scp``)."""
    value = claims.get(claim)
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(role for role in value if isinstance(role, str))
    return ()


def role_grants(claims: Mapping[str, Any], *, claim: str, prefix: str) -> RoleGrants:
    found = (parse_role(role, prefix) for role in roles_of(claims, claim))
    return RoleGrants(frozenset(grant for grant in found if grant is not None))


def signing_keys(jwks: object) -> dict[str, jwt.PyJWK]:
    """The RS256 and ES256 signing keys of a JWKS document, by kid; others are skipped."""
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            continue
        if isinstance(kid, str) and kid and key.algorithm_name in ALGORITHMS:
            keys[kid] = key
    return keys


def _unauthorized(reason: str) -> UnauthorizedError:
    return UnauthorizedError(f"{_LABEL}: {reason}.")
