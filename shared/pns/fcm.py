"""Firebase Cloud Messaging HTTP v1: service-account OAuth, sends over our HTTP/2 pool."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.errors import BadRequestError
from shared.pns import _classify as cls
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns._fcm_payload import PayloadError, to_v1_message
from shared.pns._http import TokenCache, fetch_token, make_session
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.http2 import H2Pool, Header, Response, TransportError
from shared.pns.options import PnsOptions

FCM_ENDPOINT = "https://fcm.googleapis.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_ASSERTION_LIFETIME = 3600  # Google's maximum
_PAYLOAD_LIMIT = 4096
_QUOTA_BACKOFF = 60.0  # FCM: wait at least a minute after QUOTA_EXCEEDED without Retry-After
_BAD_TOKEN = "INVALID_ARGUMENT:token"  # table key: INVALID_ARGUMENT that names the token
_OAUTH_REFUSED = "UNAUTHENTICATED"
# Service-account JSON fields we accept and ignore.
_SERVICE_ACCOUNT_EXTRAS = frozenset(
    {"type", "client_id", "auth_uri", "auth_provider_x509_cert_url", "client_x509_cert_url"}
    | {"universe_domain"}
)

_K = OutcomeKind
# (status, errorCode or google.rpc status) -> outcome.
_TABLE: cls.StatusTable = MappingProxyType(
    {
        (200, None): _K.DELIVERED,  # {"name": "projects/.../messages/..."}
        (400, _BAD_TOKEN): _K.INVALID_HANDLE,  # "not a valid FCM registration token"
        (400, "INVALID_ARGUMENT"): _K.PAYLOAD_REJECTED,  # bad field, too big, reserved data key
        (400, None): _K.PAYLOAD_REJECTED,  # any other malformed request
        (401, "THIRD_PARTY_AUTH_ERROR"): _K.CREDENTIALS_REJECTED,  # APNs/web push creds in Firebase
        (401, "APNS_AUTH_ERROR"): _K.CREDENTIALS_REJECTED,  # the older name of the same
        (401, None): _K.CREDENTIALS_REJECTED,  # OAuth token refused again after one refresh
        (403, "SENDER_ID_MISMATCH"): _K.INVALID_HANDLE,  # the token belongs to another project
        (403, None): _K.CREDENTIALS_REJECTED,  # PERMISSION_DENIED: IAM role or API disabled
        (404, "UNREGISTERED"): _K.EXPIRED_HANDLE,  # app uninstalled or token expired
        (404, None): _K.CREDENTIALS_REJECTED,  # NOT_FOUND without FcmError: no such project
        (429, None): _K.THROTTLED,  # QUOTA_EXCEEDED / RESOURCE_EXHAUSTED, by status
        (500, None): _K.TRANSIENT,  # INTERNAL (and UNSPECIFIED_ERROR)
        (503, None): _K.TRANSIENT,  # UNAVAILABLE: overloaded
    }
)


# NH's fcmV1Credential property names (ARM templates, the portal) -> the service account's.
_NH_NAMES = MappingProxyType(
    {"projectId": "project_id", "clientEmail": "client_email", "privateKey": "private_key"}
)


@dataclass(frozen=True, repr=False)
class FcmCredentials(MaskedRepr):
    """A Firebase service account. Dict form: the service-account JSON file's object
    (``project_id``, ``client_email``, ``private_key``, ``private_key_id``?, ``token_uri``?,
    other fields of that file ignored) plus ``endpoint``?; or NH's fcmV1Credential names
    ``projectId``, ``clientEmail``, ``privateKey``."""

    _SECRETS: ClassVar[frozenset[str]] = frozenset({"private_key"})

    project_id: str
    client_email: str
    private_key: str
    private_key_id: str | None = None
    token_uri: str = GOOGLE_TOKEN_URI
    endpoint: str = FCM_ENDPOINT

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FcmCredentials:
        allowed = field_names(cls) | _SERVICE_ACCOUNT_EXTRAS
        read = DictReader("FCM", data, allowed, _NH_NAMES)
        creds = cls(
            project_id=read.required("project_id"),
            client_email=read.required("client_email"),
            private_key=read.required("private_key"),
            private_key_id=read.optional("private_key_id"),
            token_uri=read.optional("token_uri") or GOOGLE_TOKEN_URI,
            endpoint=(read.optional("endpoint") or FCM_ENDPOINT).rstrip("/"),
        )
        _load_rsa_key(creds.private_key)
        return creds


def _load_rsa_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise BadRequestError("FCM credentials: 'private_key' is not a PEM key.") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BadRequestError("FCM credentials: 'private_key' must be an RSA key.")
    return key


class FcmSender:
    platform = Platform.FCMV1

    def __init__(self, credentials: FcmCredentials, options: PnsOptions) -> None:
        self._creds = credentials
        self._options = options
        self._key = _load_rsa_key(credentials.private_key)
        self._http: aiohttp.ClientSession | None = None  # token endpoint only
        self._pool: H2Pool | None = None
        self._path = f"/v1/projects/{credentials.project_id}/messages:send".encode()
        self.tokens = TokenCache(self._fetch_token, options.clock)

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        return await self.tokens.send_with_refresh(
            messages, self._send_with, refused=_oauth_refused
        )

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _send_with(self, token: str, messages: Sequence[PushMessage]) -> list[Outcome]:
        if self._pool is None:
            self._pool = H2Pool(self._creds.endpoint, self._options)
        pool = self._pool
        fixed = [(b"authorization", f"Bearer {token}".encode()), _JSON]
        outcomes: list[Outcome | None] = []
        requests: list[tuple[list[Header], bytes]] = []
        for message in messages:
            body = _request_body(message)
            if isinstance(body, Outcome):
                outcomes.append(body)
                continue
            outcomes.append(None)
            requests.append((pool.request_headers(self._path) + fixed, body))
        answers = iter(await pool.send_all(requests))
        return [
            done if done is not None else self._outcome(message.handle, next(answers))
            for message, done in zip(messages, outcomes, strict=True)
        ]

    def _outcome(self, handle: str, answer: Response | TransportError) -> Outcome:
        if isinstance(answer, TransportError):
            return cls.transient(handle, str(answer))
        if answer.status == 200:
            return Outcome(_K.DELIVERED, handle, 200, "")
        reason, message = _error_reason(answer.body)
        key = _BAD_TOKEN if reason == "INVALID_ARGUMENT" and "token" in message else reason
        retry_after = cls.parse_retry_after(answer.header(b"retry-after"), self._options.clock())
        if answer.status == 429 and retry_after is None:
            retry_after = _QUOTA_BACKOFF
        outcome = cls.outcome(
            _TABLE, handle, answer.status, reason, detail=message, key=key, retry_after=retry_after
        )
        return outcome

    async def _fetch_token(self) -> tuple[str, float]:
        if self._http is None:
            self._http = make_session(self._options)
        now = int(self._options.clock())
        claims = {
            "iss": self._creds.client_email,
            "scope": _SCOPE,
            "aud": self._creds.token_uri,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME,
        }
        headers = {"kid": self._creds.private_key_id} if self._creds.private_key_id else None
        assertion = jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
        return await fetch_token(self._http, self._creds.token_uri, form)


_JSON: Header = (b"content-type", b"application/json")


def _oauth_refused(outcome: Outcome) -> bool:
    """401 with no FcmError: our access token, not the Firebase project's settings."""
    return outcome.status == 401 and outcome.reason.startswith(_OAUTH_REFUSED)


def _request_body(message: PushMessage) -> bytes | Outcome:
    """``{"message": {...}}`` with the token first, or a local rejection."""
    if not message.handle or any(c.isspace() for c in message.handle):
        return cls.local_reject(message.handle, _K.INVALID_HANDLE, "not a registration token")
    try:
        v1 = to_v1_message(message.payload)
    except PayloadError as exc:
        return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, f"INVALID_ARGUMENT: {exc}")
    rest = json.dumps(v1, separators=(",", ":"), ensure_ascii=False).encode()
    if len(rest) > _PAYLOAD_LIMIT:
        reason = f"INVALID_ARGUMENT: message is {len(rest)} bytes, limit {_PAYLOAD_LIMIT}"
        return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, reason)
    head = b'{"message":{"token":' + json.dumps(message.handle).encode()
    return head + (b"," + rest[1:] if len(rest) > 2 else b"}") + b"}"


def _error_reason(body: bytes) -> tuple[str | None, str]:
    """(FcmError errorCode, else google.rpc status; the error message) from an error body."""
    try:
        error: Any = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None, body[:200].decode("utf-8", "replace")
    if not isinstance(error, dict):
        return None, ""
    message = str(error.get("message", ""))
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"]), message
    status = error.get("status")
    return (str(status) if status else None), message


def build(credentials: Mapping[str, object], options: PnsOptions) -> FcmSender:
    return FcmSender(FcmCredentials.from_dict(credentials), options)
