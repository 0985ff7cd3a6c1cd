"""User tokens: pinned algorithms, required claims, the injected clock, and no alg confusion."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.auth.user_token import (
    USER_TOKEN_HEADER,
    UserTokenAlgorithm,
    UserTokenIssuer,
    verify_user_token,
)
from shared.errors import ConfigurationError, UnauthorizedError

NOW = 1_800_000_000
SECRET = "a-shared-secret-that-is-long-enough-for-hs256"
CLAIMS = {
    "iss": "https://id.example.com/",
    "aud": "herald-myhub",
    "sub": "user-42",
    "exp": NOW + 600,
}

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_EC = ec.generate_private_key(ec.SECP256R1())


def _public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issuer(
    algorithm: UserTokenAlgorithm = UserTokenAlgorithm.HS256, key: str = SECRET
) -> UserTokenIssuer:
    return UserTokenIssuer(
        issuer=str(CLAIMS["iss"]), audience=str(CLAIMS["aud"]), algorithm=algorithm, key=key
    )


def sign(claims: dict[str, object], key: object = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)  # type: ignore[arg-type]


def with_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {**CLAIMS, **changes}
    return {name: value for name, value in claims.items() if value is not None}


def test_header_name_is_documented() -> None:
    assert USER_TOKEN_HEADER == "X-Herald-User-Token"


def test_hs256_token_answers_its_subject() -> None:
    assert verify_user_token(sign(CLAIMS), issuer=issuer(), now=NOW) == "user-42"


@pytest.mark.parametrize(
    ("algorithm", "private", "public"),
    [
        (UserTokenAlgorithm.RS256, _RSA, _public_pem(_RSA)),
        (UserTokenAlgorithm.ES256, _EC, _public_pem(_EC)),
    ],
)
def test_public_key_algorithms_verify(
    algorithm: UserTokenAlgorithm, private: object, public: str
) -> None:
    token = sign(CLAIMS, private, algorithm.value)
    assert verify_user_token(token, issuer=issuer(algorithm, public), now=NOW) == "user-42"


def test_expiry_uses_the_injected_clock_with_a_small_leeway() -> None:
    token = sign(CLAIMS)
    exp = int(str(CLAIMS["exp"]))
    assert verify_user_token(token, issuer=issuer(), now=exp + 29) == "user-42"
    with pytest.raises(UnauthorizedError, match="expired"):
        verify_user_token(token, issuer=issuer(), now=exp + 30)


def test_not_before_in_the_future_is_refused() -> None:
    with pytest.raises(UnauthorizedError, match="not valid yet"):
        verify_user_token(sign(with_claims(nbf=NOW + 300)), issuer=issuer(), now=NOW)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://evil.example.com/"}, "issuer"),
        ({"aud": "another-hub"}, "audience"),
        ({"sub": None}, "required claim"),
        ({"exp": None}, "required claim"),
        ({"iss": None}, "required claim"),
        ({"sub": ""}, "subject"),
        ({"exp": "tomorrow"}, "exp"),
    ],
)
def test_claims_are_enforced(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(UnauthorizedError, match=reason):
        verify_user_token(sign(with_claims(**changes)), issuer=issuer(), now=NOW)


def test_wrong_secret_is_a_bad_signature() -> None:
    with pytest.raises(UnauthorizedError, match="signature"):
        verify_user_token(sign(CLAIMS, SECRET + "x"), issuer=issuer(), now=NOW)


def test_alg_none_is_refused() -> None:
    token = jwt.encode(CLAIMS, "", algorithm="none")
    with pytest.raises(UnauthorizedError, match="alg"):
        verify_user_token(token, issuer=issuer(), now=NOW)


def test_hs256_signed_with_the_public_key_is_refused_by_an_rs256_hub() -> None:
    public = _public_pem(_RSA)
    # pyjwt refuses to HMAC with a PEM, so the forgery is built by hand.
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(CLAIMS).encode())}"
    mac = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(UnauthorizedError, match="alg"):
        verify_user_token(
            f"{signing_input}.{_b64(mac)}",
            issuer=issuer(UserTokenAlgorithm.RS256, public),
            now=NOW,
        )


def test_missing_token_is_401_naming_the_header() -> None:
    for token in (None, "", "  "):
        with pytest.raises(UnauthorizedError, match=USER_TOKEN_HEADER):
            verify_user_token(token, issuer=issuer(), now=NOW)


@pytest.mark.parametrize("key", ["not a pem", _public_pem(_EC)])
def test_an_unusable_hub_key_is_a_configuration_error(key: str) -> None:
    token = sign(CLAIMS, _RSA, "RS256")
    with pytest.raises(ConfigurationError):
        verify_user_token(token, issuer=issuer(UserTokenAlgorithm.RS256, key), now=NOW)


def test_issuer_repr_masks_the_key() -> None:
    assert SECRET not in repr(issuer())


@settings(deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_tokens_only_ever_raise_unauthorized(token: str) -> None:
    with pytest.raises(UnauthorizedError):
        verify_user_token(token, issuer=issuer(), now=NOW)
