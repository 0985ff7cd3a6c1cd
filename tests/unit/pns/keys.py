"""Throwaway keys, a settable clock and canned HTTP answers for the PNS tests."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from multidict import CIMultiDict, CIMultiDictProxy

from shared.pns._http import HttpResponse


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def ec_pem() -> str:
    return _pem(ec_key())


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_pem() -> str:
    return _pem(rsa_key())


class FakeClock:
    """A settable clock for the senders' ``clock`` option."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def answer(
    status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> HttpResponse:
    """What ``post`` would answer for this status, body and headers."""
    return HttpResponse(status, "", CIMultiDictProxy(CIMultiDict(headers or {})), body)
