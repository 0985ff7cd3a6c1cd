"""``set-credential``: a PNS credential from a JSON file, standard input, or flags.

The JSON may use Herald's field names, NH's property names, or NH's ARM shape (see
:mod:`shared.pns.credentials`); the flags cover the common cases without writing JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from shared.errors import BadRequestError
from shared.pns.base import Platform

FORMATS = """\
The credential is a JSON object (--file FILE, or standard input) in Herald's field names or in
Notification Hubs' own, as NH's ARM templates and portal name them; an ARM document
({"apnsCredential": {"properties": {...}}}, or a hub's whole "properties") works as it is.

  platform  Herald's fields                       NH's names (apnsCredential, ...)
  apns      bundle_id, key_id, team_id,           appName, keyId, appId, token (the .p8,
            signing_key (.p8 PEM), endpoint?      its base64 body or PEM), endpoint?
            or certificate (PEM, or base64        apnsCertificate, certificateKey
            .p12), certificate_password?
            endpoint: production (default), sandbox, or a URL; NH's endpoint values work too
  fcmv1     the service-account JSON file as      fcmV1Credential: projectId,
            Google issues it                      clientEmail, privateKey
  wns       client_id, client_secret,             wnsCredential: packageSid, secretKey,
            tenant_id? (Entra), token_endpoint?   windowsLiveEndpoint?
  browser   subject, private_key, public_key?     browserCredential: subject,
            (VAPID, base64url)                    vapidPrivateKey, vapidPublicKey
  adm       client_id, client_secret              admCredential: clientId, clientSecret,
                                                  authTokenUrl?
  baidu     api_key, secret_key, endpoint?        baiduCredential: baiduApiKey,
                                                  baiduSecretKey, baiduEndPoint?
  xiaomi    app_secret, endpoint? (a URL or a     xiaomiCredential: appSecret, endpoint?
            region: china, global, europe, ...)

Or, without JSON:
  set-credential HUB apns --p8 AuthKey_ABC123.p8 --key-id ABC123 --team-id TEAM123456 \\
      --bundle-id com.example.app [--endpoint sandbox]
  set-credential HUB apns --certificate push.p12 [--certificate-password PW] --bundle-id ...
  set-credential HUB fcmv1 --service-account my-project-firebase-adminsdk.json

The credential is checked before it is stored (the key parses, the required fields are
there); nothing is sent to the push service until the first notification.
"""

_APNS_FLAGS = ("p8", "key_id", "team_id", "bundle_id", "certificate", "certificate_password")


def add_credential_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("platform", choices=[p.value for p in Platform])
    parser.add_argument(
        "--file", type=Path, metavar="FILE", help="the credential as JSON ('-': standard input)"
    )
    apns = parser.add_argument_group("APNs, instead of --file")
    apns.add_argument("--p8", type=Path, metavar="FILE", help="the .p8 signing key Apple issued")
    apns.add_argument("--key-id", help="the key's 10-character id")
    apns.add_argument("--team-id", help="the 10-character team id")
    apns.add_argument("--bundle-id", help="the app's bundle id (the default apns-topic)")
    apns.add_argument(
        "--certificate", type=Path, metavar="FILE", help="a .p12 or PEM (cert and key) instead"
    )
    apns.add_argument("--certificate-password")
    apns.add_argument("--endpoint", help="production (default), sandbox, or a URL")
    fcm = parser.add_argument_group("FCM v1, instead of --file")
    fcm.add_argument(
        "--service-account", type=Path, metavar="FILE", help="the service-account JSON file"
    )


def credential_document(args: argparse.Namespace) -> object:
    """The credential the arguments give, not yet checked."""
    flagged = [name for name in (*_APNS_FLAGS, "service_account") if getattr(args, name)]
    if args.file is not None and flagged:
        raise BadRequestError("Give the credential with --file or with flags, not both.")
    if flagged:
        return _from_flags(args, flagged)
    if args.file is None or str(args.file) == "-":
        if sys.stdin.isatty():
            raise BadRequestError(
                "Give the credential: --file FILE, the flags for your platform, or JSON on "
                "standard input (see set-credential --help)."
            )
        return _json(sys.stdin.read(), "standard input")
    return _json(_read_text(args.file), str(args.file))


def _from_flags(args: argparse.Namespace, flagged: list[str]) -> dict[str, Any]:
    platform = Platform(args.platform)
    if args.service_account is not None:
        if platform is not Platform.FCMV1 or len(flagged) > 1:
            raise BadRequestError("--service-account is for fcmv1, alone.")
        document = _json(_read_text(args.service_account), str(args.service_account))
        if not isinstance(document, dict):
            raise BadRequestError(f"{args.service_account} is not a service-account JSON file.")
        return document
    if platform is not Platform.APNS:
        raise BadRequestError(f"The flags given are for apns; give {platform.value} with --file.")
    credential: dict[str, Any] = {"bundle_id": args.bundle_id, "endpoint": args.endpoint}
    if args.p8 is not None:
        missing = [
            f"--{n.replace('_', '-')}" for n in ("key_id", "team_id") if not getattr(args, n)
        ]
        if missing:
            raise BadRequestError(f"--p8 needs {' and '.join(missing)} too.")
        credential |= {"key_id": args.key_id, "team_id": args.team_id}
        credential["signing_key"] = _read_text(args.p8)
    elif args.certificate is not None:
        raw = _read_bytes(args.certificate)
        pem = b"-----BEGIN" in raw
        credential["certificate"] = raw.decode() if pem else base64.b64encode(raw).decode()
        credential["certificate_password"] = args.certificate_password
    else:
        raise BadRequestError("APNs needs --p8 (with --key-id and --team-id) or --certificate.")
    if not args.bundle_id:
        raise BadRequestError("APNs needs --bundle-id.")
    return {k: v for k, v in credential.items() if v is not None}


def _json(text: str, source: str) -> object:
    if not text.strip():
        raise BadRequestError(f"{source} is empty: give the credential as JSON (see --help).")
    try:
        return json.loads(text)
    except ValueError as error:
        raise BadRequestError(f"{source} is not JSON: {error}.") from None


def _read_text(path: Path) -> str:
    return _read_bytes(path).decode("utf-8", errors="replace")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise BadRequestError(f"Cannot read {path}: {error.strerror}.") from None
