"""A local OIDC issuer: signing keys, tokens, discovery, JWKS and a client-credentials token
endpoint, at the paths Entra ID serves them (``/{tenant}/v2.0`` is the issuer).

:class:`OidcIssuer` is the issuer's state (its published keys, its clients, its counters,
whether it is down); :func:`issuer_server` serves any number of them over loopback HTTPS with
aiohttp, and :func:`mock_transport` serves them to an httpx client without sockets.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from emulator.pns.certs import CertPaths, server_context

AUDIENCE = "api://herald-tests"
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/discovery/v2.0/keys"  # where Entra ID publishes its keys, under the tenant
TOKEN = "/oauth2/v2.0/token"  # under the tenant, beside v2.0


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # RS256 or ES256
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, algorithm: str = "RS256") -> SigningKey:
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        return cls(uuid.uuid4().hex[:16], algorithm, private)

    def jwk(self) -> dict[str, Any]:
        """The public JWK; like Entra's, an RSA key says no ``alg``."""
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            found: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            found = {**ECAlgorithm.to_jwk(public, as_dict=True), "alg": "ES256"}
        return {**found, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private, algorithm=self.algorithm, headers={"kid": self.kid, **header}
        )


@dataclass
class OidcIssuer:
    url: str
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    requests: Counter[str] = field(default_factory=Counter)  # "discovery" and "jwks" reads
    down: bool = False  # answer 503 to everything
    # Applications that may get tokens by client credentials: client id -> (secret, roles).
    clients: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, *, algorithm: str = "RS256", keep_old: bool = False) -> SigningKey:
        """Publish a new key and sign with it from now on; the old one is withdrawn unless kept."""
        key = SigningKey.generate(algorithm)
        self.keys = [*self.keys, key] if keep_old else [key]
        return key

    def claims(self, roles: Iterable[str] = (), *, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        return {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "backend-identity",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + 3600,
            "roles": list(roles),
        }

    def token(
        self, *roles: str, key: SigningKey | None = None, now: float | None = None, **claims: Any
    ) -> str:
        """A token this issuer signed (with ``key``, by default its current one)."""
        return (key or self.current).sign({**self.claims(roles, now=now), **claims})

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        """What the issuer answers at ``path`` (below its URL)."""
        if self.down:
            return 503, {"error": "temporarily_unavailable"}
        if path == DISCOVERY:
            self.requests["discovery"] += 1
            tenant = self.url.removesuffix("/v2.0")
            return 200, {
                "issuer": self.url,
                "jwks_uri": tenant + JWKS,
                "token_endpoint": tenant + TOKEN,
            }
        if path == JWKS:
            self.requests["jwks"] += 1
            return 200, {"keys": [key.jwk() for key in self.keys]}
        return 404, {"error": "not_found"}

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer to a client-credentials request, as Entra ID's."""
        secret, roles = self.clients.get(form.get("client_id", ""), (None, ()))
        if form.get("grant_type") != "client_credentials" or form.get("client_secret") != secret:
            return 401, {"error": "invalid_client"}
        if form.get("scope") != f"{AUDIENCE}/.default":
            return 400, {"error": "invalid_scope"}
        token = self.token(*roles, azp=form["client_id"])
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}


class IssuerRegistry:
    """Issuers by URL, and which one a request URL belongs to."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.issuers: dict[str, OidcIssuer] = {}

    def add(self, name: str) -> OidcIssuer:
        issuer = OidcIssuer(f"{self.origin}/{name}")
        self.issuers[issuer.url] = issuer
        return issuer

    def answer(self, url: str) -> tuple[int, dict[str, Any]]:
        """A GET of ``url``: discovery or JWKS (Entra ID's keys sit beside ``v2.0``)."""
        for base, issuer in self.issuers.items():
            tenant = base.removesuffix("/v2.0")
            if url.startswith(base + "/"):
                return issuer.answer(url[len(base) :])
            if url == tenant + JWKS:
                return issuer.answer(JWKS)
        return 404, {"error": "no such issuer"}

    def grant(self, url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A POST to a tenant's token endpoint."""
        issuer = self.issuers.get(url.removesuffix(TOKEN) + "/v2.0")
        if issuer is None or not url.endswith(TOKEN):
            return 404, {"error": "no such tenant"}
        return issuer.grant(form)


def mock_transport(registry: IssuerRegistry) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        status, body = registry.answer(str(request.url.copy_with(query=None)))
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle)


@asynccontextmanager
async def issuer_server(certs: CertPaths) -> AsyncIterator[IssuerRegistry]:
    """Serve issuers over HTTPS on a free loopback port (the simulators' CA signs its cert)."""
    holder: list[IssuerRegistry] = []

    async def handle(request: web.Request) -> web.Response:
        url = f"{holder[0].origin}{request.path}"
        if request.method == "POST":
            form = {key: str(value) for key, value in (await request.post()).items()}
            status, body = holder[0].grant(url, form)
        else:
            status, body = holder[0].answer(url)
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(certs, ["http/1.1"]))
    await site.start()
    holder.append(IssuerRegistry(f"https://127.0.0.1:{runner.addresses[0][1]}"))
    try:
        yield holder[0]
    finally:
        await runner.cleanup()
