"""A throwaway CA, the simulators' server certificate, and APNs client certificates.

The CA and leaf live in the state directory (``ca.pem``, ``ca.key``, ``server.pem``,
``server.key``) so several simulator processes, and the clients that must trust them, share
them. Existing files are reused; otherwise they are generated under a file lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class CertPaths:
    ca_file: Path
    ca_key: Path
    cert_file: Path
    key_file: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
    )


def _generate(paths: CertPaths) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Herald PNS simulator CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    leaf = (
        _builder(leaf_name, ca_name, leaf_key.public_key())
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths.ca_key.write_bytes(_pem_key(ca_key))
    paths.key_file.write_bytes(_pem_key(leaf_key))
    paths.cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))  # last: marks done


def ensure_certs(state_dir: Path) -> CertPaths:
    """Load or create the CA and server certificate in ``state_dir``."""
    state_dir.mkdir(parents=True, exist_ok=True)
    paths = CertPaths(
        state_dir / "ca.pem",
        state_dir / "ca.key",
        state_dir / "server.pem",
        state_dir / "server.key",
    )
    with (state_dir / ".certs.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not paths.ca_file.exists():
            _generate(paths)
    return paths


def issue_client_cert(paths: CertPaths, topic: str) -> tuple[str, str]:
    """An APNs-style client certificate for ``topic`` (subject UID = bundle id): (cert, key)."""
    ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), None)
    ca = x509.load_pem_x509_certificate(paths.ca_file.read_bytes())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the simulator CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, topic),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {topic}"),
        ]
    )
    cert = (
        _builder(subject, ca.subject, key.public_key())
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key).decode()


def server_context(
    paths: CertPaths, alpn: list[str], *, client_certs: bool = False
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(paths.cert_file, paths.key_file)
    ctx.set_alpn_protocols(alpn)
    if client_certs:  # APNs: optional certificate-based provider authentication
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(paths.ca_file)
    return ctx
