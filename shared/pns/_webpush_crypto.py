"""Web Push message encryption (RFC 8291 over RFC 8188 ``aes128gcm``) and VAPID (RFC 8292)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RECORD_SIZE = 4096
_HEADER = 16 + 4 + 1 + 65  # salt, record size, key id length, key id (our public key)
# One record of at most 4096 bytes: header, the 0x02 delimiter and the 16-byte tag come off.
MAX_PLAINTEXT = RECORD_SIZE - _HEADER - 1 - 16  # 3993
VAPID_LIFETIME = 12 * 3600  # RFC 8292: exp at most 24 h ahead
_VAPID_RENEW = 3600  # renew an hour before exp (Apple: not more often than hourly)
_VAPID_CACHE = 64  # audiences kept; push services are few


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    salt: bytes | None = None,
    private_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The ``aes128gcm`` body for one push message to one subscription (single record).

    ``salt`` and ``private_key`` are fresh per message unless given (for test vectors).
    Raises ValueError for a bad subscription key or a plaintext over :data:`MAX_PLAINTEXT`.
    """
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"plaintext is {len(plaintext)} bytes, limit {MAX_PLAINTEXT}")
    salt = salt or os.urandom(16)
    sender = private_key or ec.generate_private_key(ec.SECP256R1())
    as_public = public_bytes(sender)
    receiver = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    shared = sender.exchange(ec.ECDH(), receiver)
    # HKDF with 32-byte outputs is one HMAC per step (RFC 8291 section 3.4).
    prk_key = _hmac(auth_secret, shared)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + ua_public + as_public + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    header = salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_public)]) + as_public
    return header + ciphertext


def origin(endpoint: str) -> str:
    """The Unicode serialisation of the endpoint's origin: VAPID's ``aud``."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


class VapidSigner:
    """``Authorization: vapid t=<JWT>, k=<key>`` per push-service origin, cached until 1 h
    before its 12 h expiry."""

    def __init__(
        self, key: ec.EllipticCurvePrivateKey, subject: str, clock: Callable[[], float]
    ) -> None:
        self._key = key
        self._subject = subject
        self._clock = clock
        self.public_key = b64url(public_bytes(key))
        self._cache: dict[str, tuple[str, float]] = {}

    def authorization(self, endpoint: str) -> str:
        audience = origin(endpoint)
        now = self._clock()
        cached = self._cache.get(audience)
        if cached is None or now >= cached[1] - _VAPID_RENEW:
            expires = int(now) + VAPID_LIFETIME
            claims = {"aud": audience, "exp": expires, "sub": self._subject}
            token = jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "JWT"})
            if len(self._cache) >= _VAPID_CACHE:
                self._cache.clear()
            cached = self._cache[audience] = (token, float(expires))
        return f"vapid t={cached[0]}, k={self.public_key}"
