"""Generated PNS credentials the simulators accept, kept in the state directory.

``credentials.json`` holds one set per service (made once, reused across restarts):
APNs signing key, FCM service account, WNS (Package SID and Entra app), ADM client, Baidu API
key and secret key, Xiaomi app secret and a VAPID key pair; a file from before a service was
added gets that service's set added. Each start also writes ``fcm-service-account.json`` (a
Google service-account file whose ``token_uri`` points at this run's simulator) and
``apns-key.p8``.
"""

from __future__ import annotations

import fcntl
import json
import secrets
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emulator.pns import _jwt
from emulator.pns._ece import public_bytes
from emulator.pns.adm import AdmClient
from emulator.pns.apns import ApnsKey
from emulator.pns.baidu import BaiduApp
from emulator.pns.fcm import ServiceAccount
from emulator.pns.wns import WnsClient
from emulator.pns.xiaomi import XiaomiApp

if TYPE_CHECKING:
    from emulator.pns.hub import SimulatorHub

CREDENTIALS_FILE = "credentials.json"
SERVICE_ACCOUNT_FILE = "fcm-service-account.json"
APNS_KEY_FILE = "apns-key.p8"


@dataclass(frozen=True, slots=True)
class Credentials:
    apns_key_id: str
    apns_team_id: str
    apns_topic: str
    apns_private_key: str  # PKCS#8 PEM, as Apple's .p8 file
    fcm_project_id: str
    fcm_client_email: str
    fcm_private_key_id: str
    fcm_private_key: str  # PKCS#8 PEM (RSA)
    wns_package_sid: str
    wns_client_secret: str
    wns_tenant_id: str
    wns_aad_client_id: str
    wns_aad_client_secret: str
    adm_client_id: str
    adm_client_secret: str
    baidu_api_key: str
    baidu_secret_key: str
    xiaomi_app_secret: str
    vapid_private_key: str  # PKCS#8 PEM (P-256)
    vapid_public_key: str  # b64url uncompressed point, the applicationServerKey
    vapid_subject: str


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _ident(length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def generate() -> Credentials:
    vapid = ec.generate_private_key(ec.SECP256R1())
    project = "herald-sim"
    return Credentials(
        apns_key_id=_ident(10),
        apns_team_id=_ident(10),
        apns_topic="com.herald.demo",
        apns_private_key=_pem(ec.generate_private_key(ec.SECP256R1())),
        fcm_project_id=project,
        fcm_client_email=f"firebase-adminsdk@{project}.iam.gserviceaccount.com",
        fcm_private_key_id=secrets.token_hex(20),
        fcm_private_key=_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        wns_package_sid="ms-app://S-1-15-2-"
        + "-".join(str(secrets.randbelow(10**9)) for _ in range(7)),
        wns_client_secret=secrets.token_urlsafe(24),
        wns_tenant_id=secrets.token_hex(16),
        wns_aad_client_id=secrets.token_hex(16),
        wns_aad_client_secret=secrets.token_urlsafe(24),
        adm_client_id="amzn1.application-oa2-client." + secrets.token_hex(16),
        adm_client_secret=secrets.token_hex(32),
        baidu_api_key=secrets.token_urlsafe(18),
        baidu_secret_key=secrets.token_hex(16),
        xiaomi_app_secret=secrets.token_urlsafe(16),
        vapid_private_key=_pem(vapid),
        vapid_public_key=_jwt.b64url_encode(public_bytes(vapid.public_key())),
        vapid_subject="mailto:push@herald.example",
    )


def load_or_create(state_dir: Path) -> Credentials:
    """The state directory's credentials, generated on first use (under a file lock)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / CREDENTIALS_FILE
    with (state_dir / ".credentials.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        kept = json.loads(path.read_text()) if path.exists() else {}
        names = {f.name for f in fields(Credentials)}
        if names <= set(kept):
            return Credentials(**{name: kept[name] for name in names})
        creds = Credentials(**{**asdict(generate()), **{k: kept[k] for k in names & set(kept)}})
        path.write_text(json.dumps(asdict(creds), indent=2))
        path.chmod(0o600)
    return creds


def service_account_json(creds: Credentials, token_uri: str) -> dict[str, str]:
    """A Google service-account file for the simulator (google-auth reads it as is)."""
    return {
        "type": "service_account",
        "project_id": creds.fcm_project_id,
        "private_key_id": creds.fcm_private_key_id,
        "private_key": creds.fcm_private_key,
        "client_email": creds.fcm_client_email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "universe_domain": "googleapis.com",
    }


def write_run_files(state_dir: Path, creds: Credentials, token_uri: str) -> None:
    sa_path = state_dir / SERVICE_ACCOUNT_FILE
    sa_path.write_text(json.dumps(service_account_json(creds, token_uri), indent=2))
    sa_path.chmod(0o600)
    (state_dir / APNS_KEY_FILE).write_text(creds.apns_private_key)


def public_key_of(pem: str) -> _jwt.PublicKey:
    key = serialization.load_pem_private_key(pem.encode(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("expected an EC or RSA private key")
    return key.public_key()


def load_public_key(pem: str) -> _jwt.PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("expected an EC or RSA public key")
    return key


def register(creds: Credentials, hub: SimulatorHub) -> None:
    """Make every simulator accept the generated credentials."""
    apns, accounts, wns, adm = hub.apns, hub.fcm.accounts, hub.wns, hub.adm
    apns.register_key(
        ApnsKey(creds.apns_key_id, creds.apns_team_id, public_key_of(creds.apns_private_key))
    )
    accounts[creds.fcm_client_email] = ServiceAccount(
        creds.fcm_client_email,
        creds.fcm_project_id,
        public_key_of(creds.fcm_private_key),
        creds.fcm_private_key_id,
    )
    wns.clients[creds.wns_package_sid] = WnsClient(creds.wns_package_sid, creds.wns_client_secret)
    wns.clients[creds.wns_aad_client_id] = WnsClient(
        creds.wns_aad_client_id, creds.wns_aad_client_secret, creds.wns_tenant_id
    )
    adm.clients[creds.adm_client_id] = AdmClient(creds.adm_client_id, creds.adm_client_secret)
    hub.baidu.apps[creds.baidu_api_key] = BaiduApp(creds.baidu_api_key, creds.baidu_secret_key)
    hub.xiaomi.apps[creds.xiaomi_app_secret] = XiaomiApp(creds.xiaomi_app_secret)


def as_json(creds: Credentials) -> dict[str, Any]:
    return asdict(creds)
