"""Bearer tokens, sans IO: the header, the issuer, the claims against a key, roles as rights."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth.bearer import (
    RoleGrant,
    bearer_token,
    parse_role,
    read_head,
    role_grants,
    roles_of,
    signing_keys,
    verify_claims,
)
from shared.auth.sas import AccessRight, grants
from shared.errors import UnauthorizedError
from shared.hubs.model import HUB_NAME
from support.oidc import AUDIENCE, OidcIssuer, SigningKey

NOW = 1_800_000_000
ISSUER = OidcIssuer("https://login.example/tenant/v2.0")
OTHER = OidcIssuer("https://other.example/")
EC_KEY = SigningKey.generate("ES256")
PREFIX = "Herald."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _verify(token: str, key: SigningKey = ISSUER.current, **options: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "issuer": ISSUER.url,
        "audiences": [AUDIENCE],
        "now": NOW,
        "leeway": 60.0,
    }
    return verify_claims(token, jwt.PyJWK(key.jwk()), **{**settings, **options})


# The header.


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer   abc.def.ghi  ", "abc.def.ghi"),
        ("SharedAccessSignature sr=x&sig=y&se=1&skn=z", None),
        (None, None),
        ("", None),
    ],
)
def test_the_bearer_scheme_is_told_from_sas(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_a_bearer_header_without_a_token_is_401() -> None:
    with pytest.raises(UnauthorizedError, match="holds no token"):
        bearer_token("Bearer   ")


# Choosing the issuer and key, before anything is believed.


def test_the_head_names_a_trusted_issuer_and_a_kid() -> None:
    head = read_head(ISSUER.token(now=NOW), {ISSUER.url})
    assert (head.issuer, head.kid) == (ISSUER.url, ISSUER.current.kid)


def test_alg_none_is_refused_before_any_key_is_looked_up() -> None:
    token = _unsigned({"alg": "none", "kid": ISSUER.current.kid}, ISSUER.claims(now=NOW))
    with pytest.raises(UnauthorizedError, match="alg 'none'"):
        read_head(token, {ISSUER.url})


def test_an_hs256_token_signed_with_the_public_key_is_refused() -> None:
    """The classic confusion: HMAC keyed with the issuer's public key, which anyone has."""
    header = {"alg": "HS256", "typ": "JWT", "kid": ISSUER.current.kid}
    signing_input = _unsigned(header, ISSUER.claims(["Herald.Manage"], now=NOW)).rsplit(".", 1)[0]
    mac = hmac.new(ISSUER.current.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{_b64(mac)}"
    with pytest.raises(UnauthorizedError, match="alg 'HS256'"):
        read_head(token, {ISSUER.url})
    with pytest.raises(UnauthorizedError, match="alg"):
        _verify(token)  # and the claim check alone refuses it too


def test_a_token_without_kid_is_refused() -> None:
    token = jwt.encode(ISSUER.claims(now=NOW), ISSUER.current.private, algorithm="RS256")
    with pytest.raises(UnauthorizedError, match="kid"):
        read_head(token, {ISSUER.url})


@pytest.mark.parametrize("iss", ["https://evil.example/", None, 42])
def test_an_untrusted_or_missing_issuer_is_refused(iss: object) -> None:
    header = {"alg": "RS256", "kid": ISSUER.current.kid}
    token = _unsigned(header, {**ISSUER.claims(now=NOW), "iss": iss}, b"unchecked")
    with pytest.raises(UnauthorizedError, match="not one this deployment trusts"):
        read_head(token, {ISSUER.url})


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "e30.e30", "\u00e9.\u00e9.\u00e9"])
def test_garbage_is_a_401(token: str) -> None:
    with pytest.raises(UnauthorizedError):
        read_head(token, {ISSUER.url})


# The claims, against the key.


def test_a_valid_rs256_token_answers_its_claims() -> None:
    claims = _verify(ISSUER.token("Herald.Send", now=NOW))
    assert claims["roles"] == ["Herald.Send"]


def test_es256_keys_verify_too() -> None:
    assert _verify(ISSUER.token(key=EC_KEY, now=NOW), key=EC_KEY)["sub"] == "backend-identity"


def test_an_audience_list_holding_ours_is_accepted() -> None:
    _verify(ISSUER.token(now=NOW, aud=["api://elsewhere", AUDIENCE]))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": NOW - 61}, "expired"),
        ({"nbf": NOW + 61}, "not valid yet"),
        ({"iat": NOW + 61}, "issued in the future"),
        ({"aud": "api://another-app"}, "audience"),
        ({"iss": OTHER.url}, "issuer"),
        ({"exp": None}, "required claim"),
        ({"exp": "tomorrow"}, "must be a number"),
    ],
)
def test_claims_outside_the_rules_are_401(claims: dict[str, Any], reason: str) -> None:
    merged = {**ISSUER.claims(now=NOW), **claims}
    token = ISSUER.current.sign({k: v for k, v in merged.items() if v is not None})
    with pytest.raises(UnauthorizedError, match=reason):
        _verify(token)


def test_the_leeway_forgives_a_little_clock_skew() -> None:
    _verify(ISSUER.token(now=NOW, exp=NOW - 59, nbf=NOW + 59))


def test_a_signature_by_another_key_with_the_same_kid_does_not_verify() -> None:
    impostor = SigningKey(ISSUER.current.kid, "RS256", SigningKey.generate().private)
    with pytest.raises(UnauthorizedError, match="signature"):
        _verify(impostor.sign(ISSUER.claims(now=NOW)))


def test_the_alg_must_be_the_key_s() -> None:
    """An ES256 key never verifies a token that says RS256, whatever the kid."""
    token = ISSUER.token(now=NOW)
    with pytest.raises(UnauthorizedError, match="alg"):
        _verify(token, key=SigningKey(ISSUER.current.kid, "ES256", EC_KEY.private))


# The JWKS document.


def test_only_rs256_and_es256_signing_keys_with_a_kid_are_kept() -> None:
    rsa_key, ec_key = SigningKey.generate(), SigningKey.generate("ES256")
    document = {
        "keys": [
            rsa_key.jwk(),
            ec_key.jwk(),
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {**SigningKey.generate().jwk(), "alg": "RS384", "kid": "rs384"},
            {**SigningKey.generate().jwk(), "use": "enc", "kid": "encryption"},
            {**SigningKey.generate().jwk(), "kid": ""},
            {"kty": "RSA", "kid": "broken"},
            "not a key",
        ]
    }
    assert set(signing_keys(document)) == {rsa_key.kid, ec_key.kid}
    assert signing_keys({"keys": "nope"}) == signing_keys([]) == {}


# Roles and rights.


@pytest.mark.parametrize(
    ("role", "grant"),
    [
        ("Herald.Listen", RoleGrant(AccessRight.LISTEN, None)),
        ("Herald.Send", RoleGrant(AccessRight.SEND, None)),
        ("Herald.Manage", RoleGrant(AccessRight.MANAGE, None)),
        ("Herald.Send.myhub", RoleGrant(AccessRight.SEND, "myhub")),
        ("Herald.Manage.my.hub", RoleGrant(AccessRight.MANAGE, "my.hub")),
        ("Herald.send", None),
        ("herald.Send", None),
        ("Herald.Sender", None),
        ("Herald.Send.", None),
        ("Herald.", None),
        ("Other.Send", None),
        ("Send", None),
    ],
)
def test_role_names(role: str, grant: RoleGrant | None) -> None:
    assert parse_role(role, PREFIX) == grant


_hubs = st.from_regex(HUB_NAME, fullmatch=True)
_rights = st.sampled_from(list(AccessRight))


@given(right=_rights, hub=_hubs, other=_hubs)
def test_a_hub_role_grants_on_that_hub_only(right: AccessRight, hub: str, other: str) -> None:
    found = role_grants({"roles": [f"Herald.{right.value}.{hub}"]}, claim="roles", prefix=PREFIX)
    assert found.rights_on(hub) == {right}
    if other != hub:
        assert found.rights_on(other) == frozenset()


@given(roles=st.lists(st.tuples(_rights, st.none() | _hubs), max_size=6), hub=_hubs)
def test_rights_are_the_union_of_matching_roles(
    roles: list[tuple[AccessRight, str | None]], hub: str
) -> None:
    names = [f"Herald.{r.value}" + ("" if h is None else f".{h}") for r, h in roles]
    rights = role_grants({"roles": names}, claim="roles", prefix=PREFIX).rights_on(hub)
    expected = {r for r, h in roles if h in (None, hub)}
    assert rights == expected
    for right in AccessRight:
        assert grants(rights, right) == (right in expected or AccessRight.MANAGE in expected)


@given(role=st.text(max_size=40).filter(lambda text: not text.startswith(PREFIX)))
def test_roles_without_the_prefix_grant_nothing(role: str) -> None:
    assert parse_role(role, PREFIX) is None


def test_a_configured_claim_and_prefix_are_read() -> None:
    claims = {"scp": "Push.Send.myhub openid", "roles": ["Herald.Manage"]}
    found = role_grants(claims, claim="scp", prefix="Push.")
    assert found.rights_on("myhub") == {AccessRight.SEND}


@pytest.mark.parametrize(
    ("value", "roles"),
    [
        (["a", "b"], ("a", "b")),
        ("a b  c", ("a", "b", "c")),
        (["a", 3, None, "b"], ("a", "b")),
        (None, ()),
        (7, ()),
        ({"a": 1}, ()),
    ],
)
def test_the_roles_claim_may_be_a_list_or_a_string(value: object, roles: tuple[str, ...]) -> None:
    assert roles_of({"roles": value}, "roles") == roles
