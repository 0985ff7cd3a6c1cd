"""Encryption at rest for a hub's secrets (SAS keys, PNS credentials, user-token secret).

AES-256-GCM with a random 96-bit nonce; the hub name is the associated data, so a secrets blob
copied onto another hub's row does not decrypt. Each blob names the key it was sealed with (a
short fingerprint), so the key can be rotated: set the new key as ``HERALD_SECRET_KEY`` and the
old one as ``HERALD_SECRET_KEY_PREVIOUS``; rows sealed with either open, and every write seals
with the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import ConfigurationError

KEY_BYTES = 32
_NONCE_BYTES = 12
_FINGERPRINT_BYTES = 4


def parse_secret_key(text: str, setting: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"{setting} must be {KEY_BYTES} random bytes in base64.")
    return key


def new_secret_key() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _fingerprint(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_FINGERPRINT_BYTES]


@dataclass(frozen=True, repr=False)
class SecretBox:
    key: bytes
    previous: bytes | None = field(default=None)

    def __repr__(self) -> str:
        return "SecretBox(key=***)"

    def seal(self, value: dict[str, Any], *, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(value, separators=(",", ":")).encode()
        sealed = AESGCM(self.key).encrypt(nonce, plain, context.encode())
        return _fingerprint(self.key) + nonce + sealed

    def open(self, blob: bytes, *, context: str) -> dict[str, Any]:
        fingerprint, nonce = blob[:_FINGERPRINT_BYTES], blob[_FINGERPRINT_BYTES:][:_NONCE_BYTES]
        sealed = blob[_FINGERPRINT_BYTES + _NONCE_BYTES :]
        for key in (self.key, self.previous):
            if key is not None and _fingerprint(key) == fingerprint:
                try:
                    plain = AESGCM(key).decrypt(nonce, sealed, context.encode())
                except InvalidTag:
                    break
                value: dict[str, Any] = json.loads(plain)
                return value
        raise ConfigurationError(
            f"The secrets of {context!r} do not open with HERALD_SECRET_KEY "
            "(or HERALD_SECRET_KEY_PREVIOUS): was the key changed without keeping the old one?"
        )
