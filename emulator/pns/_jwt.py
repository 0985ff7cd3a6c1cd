"""JWT and base64url helpers for the provider tokens, OAuth assertions and VAPID claims."""

from __future__ import annotations

import base64
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.types import Options

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# Claims are checked by each simulator in its service's own words, so PyJWT checks none.
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header(token: str) -> dict[str, Any] | None:
    """The JOSE header without verification, or None when the token is not a JWT."""
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None


def unverified_claims(token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def verified_claims(token: str, key: PublicKey, algorithm: str) -> dict[str, Any] | None:
    """The claims if ``token`` is signed by ``key`` with ``algorithm``, else None."""
    try:
        claims = jwt.decode(token, key=key, algorithms=[algorithm], options=_SIGNATURE_ONLY)
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def number(value: object) -> float | None:
    """A numeric claim (int or float, not bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
