"""APNs authentication: the ES256 provider token (JWT) and the TLS client certificate."""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from shared.errors import BadRequestError

if TYPE_CHECKING:
    from shared.pns.apns import ApnsCredentials

# Apple: refresh no more than once every 20 minutes and no less than once every 60; a token whose
# iat is over an hour old is refused. One token per key, re-minted well inside that window.
MIN_TOKEN_AGE = 20 * 60
MAX_REFRESH_AGE = 50 * 60
DEFAULT_REFRESH_AGE = 40 * 60


def pem_private_key(text: str) -> str:
    """A .p8 key as PEM: NH's portal and templates take the key's base64 body alone."""
    if "-----BEGIN" in text:
        return text
    body = "".join(text.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN PRIVATE KEY-----", *lines, "-----END PRIVATE KEY-----", ""])


def load_signing_key(pem: str | None) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key((pem or "").encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise BadRequestError(
            "APNs credentials: the .p8 key ('signing_key', NH's 'token') is neither a PEM "
            "private key nor its base64 body."
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise BadRequestError("APNs credentials: the .p8 key must be a P-256 (ES256) key.")
    return key


class ProviderToken:
    """The ``authorization`` value for every connection of one key: re-minted every 20-50 min."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        key_id: str,
        team_id: str,
        clock: Callable[[], float],
        refresh_age: float = DEFAULT_REFRESH_AGE,
    ) -> None:
        if not MIN_TOKEN_AGE <= refresh_age <= MAX_REFRESH_AGE:
            raise ValueError("refresh_age must be between 20 and 50 minutes")
        self._key = key
        self._key_id = key_id
        self._team_id = team_id
        self._clock = clock
        self._refresh_age = refresh_age
        self._value = b""
        self.issued_at = 0

    def header(self) -> bytes:
        """``bearer <jwt>``, minting a new JWT when the current one reached its refresh age."""
        now = self._clock()
        age = now - self.issued_at
        if not self._value or not 0 <= age < self._refresh_age:
            self.issued_at = int(now)
            token = jwt.encode(
                {"iss": self._team_id, "iat": self.issued_at},
                self._key,
                algorithm="ES256",
                headers={"kid": self._key_id},
            )
            self._value = b"bearer " + token.encode("ascii")
        return self._value

    def expired(self) -> None:
        """APNs said ExpiredProviderToken: re-mint on next use, unless younger than 20 min."""
        if self._clock() - self.issued_at >= MIN_TOKEN_AGE:
            self._value = b""


def load_client_certificate(context: ssl.SSLContext, creds: ApnsCredentials) -> None:
    """Load the credentials' certificate (PEM, or base64 PKCS#12) into ``context``."""
    pem = _certificate_pem(creds.certificate or "", creds.certificate_password)
    # ssl can only read a chain from a file: write it privately and remove it at once.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            context.load_cert_chain(path, password=(creds.certificate_password or "").encode())
        except ssl.SSLError as exc:
            raise BadRequestError(
                "APNs credentials: 'certificate' needs a certificate and its private key."
            ) from exc


def _certificate_pem(certificate: str, password: str | None) -> bytes:
    if "-----BEGIN" in certificate:
        return certificate.encode()
    try:
        raw = base64.b64decode(certificate, validate=True)
        key, cert, extra = pkcs12.load_key_and_certificates(
            raw, password.encode() if password else None
        )
    except (binascii.Error, ValueError) as exc:
        raise BadRequestError(
            "APNs credentials: 'certificate' is neither PEM nor base64 PKCS#12 (or the "
            "password is wrong)."
        ) from exc
    if key is None or cert is None:
        raise BadRequestError("APNs credentials: the PKCS#12 bundle lacks a key or certificate.")
    parts = [
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    ]
    parts += [c.public_bytes(serialization.Encoding.PEM) for c in extra]
    return b"".join(parts)
