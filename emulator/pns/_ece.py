"""RFC 8291 message decryption (``aes128gcm``, RFC 8188, one record), for the Web Push simulator."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_HEADER = 21  # salt(16) || rs(4) || idlen(1)
_KEY_LEN = 65  # uncompressed P-256 point
_TAG = 16


class EceError(ValueError):
    """The body is not a valid RFC 8291 message for this subscription."""


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, hashlib.sha256)


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """The plaintext of ``body``, encrypted to the user agent key ``ua_private``."""
    if len(body) < _HEADER + _KEY_LEN + _TAG + 1:
        raise EceError("body too short")
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    if idlen != _KEY_LEN:
        raise EceError("keyid must be the 65-byte sender public key")
    keyid, ciphertext = body[_HEADER : _HEADER + idlen], body[_HEADER + idlen :]
    if rs < _TAG + 2 or len(ciphertext) > rs:
        raise EceError("RFC 8291 allows exactly one record")
    try:
        as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)
    except ValueError as exc:
        raise EceError("keyid is not a P-256 point") from exc
    ecdh_secret = ua_private.exchange(ec.ECDH(), as_public)
    key_info = b"WebPush: info\x00" + public_bytes(ua_private.public_key()) + keyid
    ikm = _hmac(_hmac(auth_secret, ecdh_secret), key_info + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    try:
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
    except InvalidTag as exc:
        raise EceError("decryption failed") from exc
    unpadded = padded.rstrip(b"\x00")
    if not unpadded.endswith(b"\x02"):  # the last (only) record's delimiter
        raise EceError("bad padding delimiter")
    return unpadded[:-1]
