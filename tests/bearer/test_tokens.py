"""Which tokens the host believes: the issuer's keys over HTTPS, rotation, and every forgery.

The host trusts issuers a, b and d (discovery and JWKS over loopback HTTPS, behind the test
CA); issuer c is served the same way but not trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from support.oidc import SigningKey
from support.stack import NhCaller

from .conftest import Bearer, Issuers, installation


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWT put together by hand: HS256 keyed with ``key``, or unsigned."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


async def _put(bearer: Bearer, token: str) -> httpx.Response:
    async with bearer.client() as http:
        return await http.put(
            "/installations/phone", json=installation("phone"), headers=bearer.headers(token=token)
        )


def _listen(bearer: Bearer) -> list[str]:
    return [bearer.role("Listen")]


async def test_a_valid_token_from_the_trusted_issuer_is_accepted(bearer: Bearer) -> None:
    assert (await _put(bearer, bearer.issuer.token(*_listen(bearer)))).status_code == 200


async def test_keys_are_read_once_and_then_served_from_the_cache(bearer: Bearer) -> None:
    await _put(bearer, bearer.issuer.token(*_listen(bearer)))
    before = bearer.issuer.requests["jwks"]
    for _ in range(10):
        assert (await _put(bearer, bearer.issuer.token(*_listen(bearer)))).status_code == 200
    assert bearer.issuer.requests["jwks"] == before


async def test_a_rotated_key_is_picked_up_and_the_withdrawn_one_refused(bearer: Bearer) -> None:
    old = bearer.issuer.token(*_listen(bearer))
    assert (await _put(bearer, old)).status_code == 200
    bearer.issuer.rotate(algorithm="ES256")  # a new kid, and the old key withdrawn
    reads = bearer.issuer.requests["jwks"]
    assert (await _put(bearer, bearer.issuer.token(*_listen(bearer)))).status_code == 200
    assert bearer.issuer.requests["jwks"] == reads + 1
    refused = await _put(bearer, old)
    assert refused.status_code == 401
    assert "publishes no signing key" in refused.text


async def test_a_kid_the_issuer_never_published_is_refused(bearer: Bearer) -> None:
    stranger = SigningKey.generate()
    token = stranger.sign(bearer.issuer.claims(_listen(bearer)))
    answer = await _put(bearer, token)
    assert answer.status_code == 401
    assert "publishes no signing key" in answer.text


async def test_an_expired_token_is_refused(bearer: Bearer) -> None:
    token = bearer.issuer.token(*_listen(bearer), now=time.time() - 3600 - 120)
    assert (await _put(bearer, token)).status_code == 401


async def test_a_token_for_another_audience_is_refused(bearer: Bearer) -> None:
    answer = await _put(bearer, bearer.issuer.token(*_listen(bearer), aud="api://another-app"))
    assert answer.status_code == 401
    assert "audience" in answer.text


async def test_a_token_with_the_wrong_issuer_claim_is_refused(
    bearer: Bearer, issuers: Issuers
) -> None:
    """Issuer a's key, but b's name: b does not publish a's key."""
    token = bearer.issuer.token(*_listen(bearer), iss=issuers.second.url)
    assert (await _put(bearer, token)).status_code == 401


async def test_alg_none_is_refused(bearer: Bearer) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": bearer.issuer.current.kid}
    answer = await _put(bearer, _forged(header, bearer.issuer.claims(_listen(bearer)), None))
    assert answer.status_code == 401
    assert "alg 'none'" in answer.text


async def test_hs256_signed_with_the_issuer_s_public_key_is_refused(bearer: Bearer) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": bearer.issuer.current.kid}
    claims = bearer.issuer.claims(["Herald.Manage"])
    answer = await _put(bearer, _forged(header, claims, bearer.issuer.current.public_pem()))
    assert answer.status_code == 401
    assert "alg 'HS256'" in answer.text


async def test_a_second_trusted_issuer_is_accepted(bearer: Bearer, issuers: Issuers) -> None:
    token = issuers.second.token(*_listen(bearer))
    assert (await _put(bearer, token)).status_code == 200


async def test_an_untrusted_second_issuer_is_refused_without_a_request_to_it(
    bearer: Bearer, issuers: Issuers
) -> None:
    answer = await _put(bearer, issuers.untrusted.token(*_listen(bearer)))
    assert answer.status_code == 401
    assert "not one this deployment trusts" in answer.text
    assert issuers.untrusted.requests == {}


async def test_the_trusted_issuer_s_name_on_an_untrusted_issuer_s_token_is_refused(
    bearer: Bearer, issuers: Issuers
) -> None:
    forged = issuers.untrusted.current.sign(bearer.issuer.claims(["Herald.Manage"]))
    assert (await _put(bearer, forged)).status_code == 401
    assert issuers.untrusted.requests == {}


async def test_an_issuer_that_cannot_be_reached_is_503_until_it_can(
    bearer: Bearer, issuers: Issuers
) -> None:
    token = issuers.offline.token(*_listen(bearer))
    unavailable = await _put(bearer, token)
    issuers.offline.down = False
    try:
        recovered = await _put(bearer, token)
    finally:
        issuers.offline.down = True
    assert unavailable.status_code == 503
    assert "could not be read" in unavailable.text
    assert recovered.status_code == 200


async def test_sas_keys_still_work_beside_bearer_tokens(bearer: Bearer) -> None:
    nh = NhCaller(bearer.stack.nh.base_url, bearer.stack.nh.hub)
    async with nh.client() as http:
        answer = await http.put(
            "/installations/phone", json=installation("phone"), headers=nh.headers()
        )
    assert answer.status_code == 200
