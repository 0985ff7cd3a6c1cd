"""User tokens: a JWT from the hub's own identity provider that proves who the device's user is.

NH lets any holder of the Listen key claim any ``userId``, so anyone can register for another
user's pushes. Herald closes that hole: a client holding only the Listen key sends, beside its
SAS ``Authorization`` header, the header ``X-Herald-User-Token: <jwt>``. The JWT must be signed by
the issuer configured on the hub (HS256 shared secret, or an RS256/ES256 public key in PEM), and
carry ``iss``, ``aud``, ``exp`` and ``sub``; :func:`verify_user_token` answers ``sub``, which the
registry compares with the installation's ``userId``.

The algorithm is pinned to the configured one, so ``none`` and HS256-with-the-public-key tokens
are refused. Time comes from the caller (``now``) so tests need no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt

from shared.auth._times import check_times, decode_options
from shared.errors import ConfigurationError, UnauthorizedError

USER_TOKEN_HEADER = "X-Herald-User-Token"
_LABEL = "UserToken"
DEFAULT_LEEWAY_SECONDS = 30.0

# pyjwt's error, and what the caller is told; the first matching row wins (subclasses first).
_JWT_ERRORS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidAlgorithmError, "the token's alg is not the one this hub accepts"),
    (jwt.InvalidSignatureError, "the signature does not verify"),
    (jwt.MissingRequiredClaimError, "a required claim (iss, aud, exp, sub) is missing"),
    (jwt.InvalidIssuerError, "the issuer (iss) is not this hub's issuer"),
    (jwt.InvalidAudienceError, "the audience (aud) is not this hub's audience"),
    (jwt.DecodeError, "the token is not a well-formed JWT"),
    (jwt.PyJWTError, "the token is invalid"),
)


class UserTokenAlgorithm(StrEnum):
    HS256 = "HS256"
    RS256 = "RS256"
    ES256 = "ES256"


@dataclass(frozen=True, repr=False)
class UserTokenIssuer:
    """A hub's trusted identity provider. ``key`` is the HS256 secret or the PEM public key."""

    issuer: str
    audience: str
    algorithm: UserTokenAlgorithm
    key: str
    leeway: float = DEFAULT_LEEWAY_SECONDS

    def __repr__(self) -> str:
        return (
            f"UserTokenIssuer(issuer={self.issuer!r}, audience={self.audience!r}, "
            f"algorithm={self.algorithm.value!r}, key=***)"
        )


def verify_user_token(token: str | None, *, issuer: UserTokenIssuer, now: float) -> str:
    """Verify a user JWT and answer its subject; any failure is :class:`UnauthorizedError`.

    A key that cannot be loaded for the configured algorithm is a hub misconfiguration
    (:class:`ConfigurationError`), not the client's fault.
    """
    if token is None or not token.strip():
        raise UnauthorizedError(f"UserToken: the {USER_TOKEN_HEADER} header is missing.")
    claims = _decode(token.strip(), issuer)
    check_times(claims, now=now, leeway=issuer.leeway, label=_LABEL)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise UnauthorizedError("UserToken: the subject (sub) must be a non-empty string.")
    return subject


def _decode(token: str, issuer: UserTokenIssuer) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            issuer.key,
            algorithms=[issuer.algorithm.value],
            audience=issuer.audience,
            issuer=issuer.issuer,
            # Time claims are checked against the caller's clock (check_times).
            options=decode_options(["iss", "aud", "exp", "sub"]),
        )
    except jwt.InvalidKeyError as error:
        raise ConfigurationError(
            f"The hub's user-token key is not a valid {issuer.algorithm.value} key."
        ) from error
    except jwt.PyJWTError as error:
        reason = next(text for kind, text in _JWT_ERRORS if isinstance(error, kind))
        raise UnauthorizedError(f"UserToken: {reason}.") from error
    except UnicodeError as error:  # a header that was not text: the client's token, not our key
        raise UnauthorizedError("UserToken: the token is not a well-formed JWT.") from error
    except ValueError as error:  # cryptography rejecting a malformed PEM
        raise ConfigurationError(
            f"The hub's user-token key is not a valid {issuer.algorithm.value} key."
        ) from error
