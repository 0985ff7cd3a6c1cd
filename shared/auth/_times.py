"""The time claims of a JWT (``exp``, ``nbf``, ``iat``), judged against the caller's clock.

pyjwt reads the system clock; these checks take ``now`` from the caller instead, so tests
need no clock and user tokens and bearer tokens share one rule and one set of messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jwt.types import Options

from shared.errors import UnauthorizedError


def decode_options(required: list[str]) -> Options:
    """pyjwt's options: ``required`` claims must be present; the times are left to us."""
    return {"require": required, "verify_exp": False, "verify_nbf": False, "verify_iat": False}


def check_times(claims: Mapping[str, Any], *, now: float, leeway: float, label: str) -> None:
    """401 (messages prefixed with ``label``) unless ``now`` lies within the token's times."""
    expiry = _numeric_claim(claims, "exp", label)
    if expiry is not None and expiry <= now - leeway:
        raise UnauthorizedError(f"{label}: the token has expired (exp).")
    not_before = _numeric_claim(claims, "nbf", label)
    if not_before is not None and not_before > now + leeway:
        raise UnauthorizedError(f"{label}: the token is not valid yet (nbf).")
    issued_at = _numeric_claim(claims, "iat", label)
    if issued_at is not None and issued_at > now + leeway:
        raise UnauthorizedError(f"{label}: the token was issued in the future (iat).")


def _numeric_claim(claims: Mapping[str, Any], name: str, label: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnauthorizedError(f"{label}: the {name} claim must be a number.")
    return float(value)
