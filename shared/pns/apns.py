"""Apple Push Notification service: the HTTP/2 provider API, token or certificate auth."""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from shared.http import is_field_value
from shared.pns import _classify as cls
from shared.pns._apns_auth import (
    ProviderToken,
    load_client_certificate,
    load_signing_key,
    pem_private_key,
)
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.http2 import H2Pool, Header, Response, TransportError
from shared.pns.options import PnsOptions

APNS_PRODUCTION = "https://api.push.apple.com"
APNS_SANDBOX = "https://api.sandbox.push.apple.com"
_ENDPOINT_ALIASES = MappingProxyType({"production": APNS_PRODUCTION, "sandbox": APNS_SANDBOX})
# NH's apnsCredential property names (ARM templates, the portal) -> ours. NH's endpoints name
# Apple's device path (``https://api.push.apple.com:443/3/device``); the host is what counts.
_NH_NAMES = MappingProxyType(
    {
        "appName": "bundle_id",
        "keyId": "key_id",
        "appId": "team_id",
        "token": "signing_key",
        "apnsCertificate": "certificate",
        "certificateKey": "certificate_password",
    }
)
_NH_IGNORED = frozenset({"thumbprint"})  # derived from the certificate; nothing to keep
_NH_ENDPOINTS = MappingProxyType(
    {
        "https://api.push.apple.com:443/3/device": APNS_PRODUCTION,
        "https://api.development.push.apple.com:443/3/device": APNS_SANDBOX,
        "gateway.push.apple.com": APNS_PRODUCTION,
        "gateway.sandbox.push.apple.com": APNS_SANDBOX,
    }
)

_K = OutcomeKind
# (status, reason) -> outcome; reasons are Apple's {"reason": ...} strings.
_TABLE: cls.StatusTable = MappingProxyType(
    {
        (200, None): _K.DELIVERED,  # accepted; the body is empty
        (400, "BadDeviceToken"): _K.INVALID_HANDLE,  # not a token, or one of the other environment
        (400, "DeviceTokenNotForTopic"): _K.INVALID_HANDLE,  # the token belongs to another app
        (400, "BadTopic"): _K.CREDENTIALS_REJECTED,  # the configured bundle id is wrong
        (400, "TopicDisallowed"): _K.CREDENTIALS_REJECTED,  # the key/cert may not push this topic
        (400, "MissingTopic"): _K.CREDENTIALS_REJECTED,  # no topic: bundle id missing in config
        (400, "IdleTimeout"): _K.TRANSIENT,  # APNs closed an idle stream: send again
        (400, None): _K.PAYLOAD_REJECTED,  # a header or the payload is malformed (our message)
        (403, "ExpiredProviderToken"): _K.TRANSIENT,  # JWT older than 1 h: re-mint, send again
        (403, None): _K.CREDENTIALS_REJECTED,  # bad key, team, certificate or environment
        (404, None): _K.PAYLOAD_REJECTED,  # BadPath: a request we built wrongly
        (405, None): _K.PAYLOAD_REJECTED,  # MethodNotAllowed: likewise
        (410, None): _K.EXPIRED_HANDLE,  # Unregistered / ExpiredToken: the app is gone
        (413, None): _K.PAYLOAD_REJECTED,  # PayloadTooLarge
        (429, "TooManyProviderTokenUpdates"): _K.THROTTLED,  # JWT churn: wait, new connection
        (429, None): _K.THROTTLED,  # TooManyRequests to this one device token
        (500, None): _K.TRANSIENT,  # InternalServerError
        (503, None): _K.TRANSIENT,  # ServiceUnavailable / Shutdown
    }
)

# apns-push-type -> suffix of the bundle id that makes the default apns-topic.
_TOPIC_SUFFIX = MappingProxyType(
    {
        "alert": "",
        "background": "",
        "voip": ".voip",
        "complication": ".complication",
        "fileprovider": ".pushkit.fileprovider",
        "liveactivity": ".push-type.liveactivity",
        "location": ".location-query",
        "mdm": "",
        "pushtotalk": ".voip-ptt",
        "widgets": ".push-type.widgets",
        "controls": ".push-type.controls",
    }
)
_PAYLOAD_LIMIT = 4096
_VOIP_PAYLOAD_LIMIT = 5120
_MAX_TOKEN_HEX = 200
_HEX = frozenset("0123456789abcdef")
_PASS_THROUGH = ("apns-expiration", "apns-collapse-id", "apns-id")


@dataclass(frozen=True, repr=False)
class ApnsCredentials(MaskedRepr):
    """Token auth (``key_id``, ``team_id``, ``signing_key``) or certificate auth (``certificate``).

    Dict form: ``{"bundle_id", "endpoint"?, "key_id"?, "team_id"?, "signing_key"? (the .p8:
    PEM, or its base64 body as NH's portal takes it), "certificate"? (PEM cert + key, or base64
    PKCS#12), "certificate_password"?}``; ``endpoint`` also takes the shorthands
    ``"production"`` and ``"sandbox"`` and NH's endpoint values. NH's names (``appName``,
    ``keyId``, ``appId``, ``token``, ``apnsCertificate``, ``certificateKey``) are read too.
    """

    _SECRETS: ClassVar[frozenset[str]] = frozenset(
        {"signing_key", "certificate", "certificate_password"}
    )

    bundle_id: str
    endpoint: str = APNS_PRODUCTION
    key_id: str | None = None
    team_id: str | None = None
    signing_key: str | None = None
    certificate: str | None = None
    certificate_password: str | None = None

    @property
    def token_auth(self) -> bool:
        return self.signing_key is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ApnsCredentials:
        read = DictReader("APNs", data, field_names(cls), _NH_NAMES, _NH_IGNORED)
        endpoint = read.optional("endpoint", APNS_PRODUCTION) or APNS_PRODUCTION
        endpoint = _NH_ENDPOINTS.get(endpoint.lower(), endpoint)
        signing_key = read.optional("signing_key")
        creds = cls(
            bundle_id=read.required("bundle_id"),
            endpoint=_ENDPOINT_ALIASES.get(endpoint, endpoint).rstrip("/"),
            key_id=read.optional("key_id"),
            team_id=read.optional("team_id"),
            signing_key=None if signing_key is None else pem_private_key(signing_key),
            certificate=read.optional("certificate"),
            certificate_password=read.optional("certificate_password"),
        )
        if creds.signing_key is not None:
            if not (creds.key_id and creds.team_id):
                raise read.fail("token auth needs 'key_id' and 'team_id' with 'signing_key'.")
            load_signing_key(creds.signing_key)
        elif creds.certificate is not None:
            load_client_certificate(ssl.create_default_context(), creds)
        else:
            raise read.fail("give 'signing_key' (token auth) or 'certificate'.")
        return creds


@dataclass(frozen=True, slots=True)
class _Prepared:
    path: bytes
    headers: list[Header]
    body: bytes


class ApnsSender:
    platform = Platform.APNS

    def __init__(self, credentials: ApnsCredentials, options: PnsOptions) -> None:
        self._creds = credentials
        self._options = options
        self._token = (
            ProviderToken(
                load_signing_key(credentials.signing_key),
                key_id=credentials.key_id or "",
                team_id=credentials.team_id or "",
                clock=options.clock,
            )
            if credentials.signing_key is not None
            else None
        )
        self._pool: H2Pool | None = None
        self._static: dict[tuple[str, str, str], list[Header]] = {}

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        pool = self._get_pool()
        auth = [(b"authorization", self._token.header())] if self._token else []
        outcomes: list[Outcome | None] = []
        requests: list[tuple[list[Header], bytes]] = []
        for message in messages:
            prepared = self._prepare(message)
            if isinstance(prepared, Outcome):
                outcomes.append(prepared)
                continue
            outcomes.append(None)
            headers = pool.request_headers(prepared.path)
            headers += auth
            headers += prepared.headers
            requests.append((headers, prepared.body))
        answers = iter(await pool.send_all(requests))
        return [
            done if done is not None else self._outcome(message.handle, next(answers))
            for message, done in zip(messages, outcomes, strict=True)
        ]

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    def _get_pool(self) -> H2Pool:
        if self._pool is None:
            context = self._options.ssl_context(alpn_h2=True)
            if not self._creds.token_auth:
                load_client_certificate(context, self._creds)
            self._pool = H2Pool(self._creds.endpoint, self._options, context)
        return self._pool

    def _prepare(self, message: PushMessage) -> _Prepared | Outcome:
        token = message.handle.lower()
        if not token or len(token) > _MAX_TOKEN_HEX or not _HEX.issuperset(token):
            return cls.local_reject(message.handle, _K.INVALID_HANDLE, "BadDeviceToken: not hex")
        given = {k.lower(): v for k, v in message.headers.items() if k[:5].lower() == "apns-"}
        push_type = given.get("apns-push-type") or _derive_push_type(message.payload)
        suffix = _TOPIC_SUFFIX.get(push_type)
        if suffix is None:
            return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, "InvalidPushType")
        topic = given.get("apns-topic") or self._creds.bundle_id + suffix
        priority = given.get("apns-priority") or ("5" if push_type == "background" else "10")
        problem = _check(message.payload, push_type, priority, given)
        if not problem and not all(map(is_field_value, given.values())):
            # h2 would refuse the request by failing its whole connection, others' streams too.
            problem = "a header holds a byte HTTP/2 does not carry"
        if problem:
            return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, problem)
        headers = list(self._static_headers(topic, push_type, priority))
        headers += [(k.encode(), given[k].encode()) for k in _PASS_THROUGH if k in given]
        return _Prepared(b"/3/device/" + token.encode("ascii"), headers, message.payload)

    def _static_headers(self, topic: str, push_type: str, priority: str) -> list[Header]:
        key = (topic, push_type, priority)
        headers = self._static.get(key)
        if headers is None:
            headers = [
                (b"apns-topic", topic.encode()),
                (b"apns-push-type", push_type.encode()),
                (b"apns-priority", priority.encode()),
            ]
            if len(self._static) < 256:  # a handful of apps and types; never unbounded
                self._static[key] = headers
        return headers

    def _outcome(self, handle: str, answer: Response | TransportError) -> Outcome:
        if isinstance(answer, TransportError):
            return cls.transient(handle, str(answer))
        if answer.status == 200:
            return Outcome(_K.DELIVERED, handle, 200, "")
        reason, detail = _error_reason(answer.body)
        if reason == "ExpiredProviderToken" and self._token is not None:
            self._token.expired()
        return cls.outcome(_TABLE, handle, answer.status, reason, detail=detail)


@functools.lru_cache(maxsize=256)  # a tag send repeats one payload to every device
@functools.lru_cache(maxsize=64)  # of payloads up to 5 KB: at most 320 KB held
def _derive_push_type(payload: bytes) -> str:
    """``background`` for a content-available-only payload, else ``alert`` (APNs' own rule).
    Cached: a native send gives every device the same payload, parsed once, not per device."""
    try:
        aps = json.loads(payload).get("aps")
    except (ValueError, AttributeError):
        return "alert"
    if not isinstance(aps, dict):
        return "alert"
    silent = aps.get("content-available") == 1
    visible = any(key in aps for key in ("alert", "badge", "sound"))
    return "background" if silent and not visible else "alert"


def _check(payload: bytes, push_type: str, priority: str, given: Mapping[str, str]) -> str:
    """What APNs would reject before we spend a request on it, in Apple's reason words."""
    limit = _VOIP_PAYLOAD_LIMIT if push_type == "voip" else _PAYLOAD_LIMIT
    if len(payload) > limit:
        return f"PayloadTooLarge: {len(payload)} bytes, limit {limit}"
    if not payload:
        return "PayloadEmpty"
    if priority not in ("1", "5", "10"):
        return "BadPriority"
    if len(given.get("apns-collapse-id", "").encode()) > 64:
        return "BadCollapseId: longer than 64 bytes"
    if not given.get("apns-expiration", "0").isdigit():
        return "BadExpirationDate"
    return ""


def _error_reason(body: bytes) -> tuple[str | None, str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, body[:200].decode("utf-8", "replace")
    if not isinstance(parsed, dict):
        return None, ""
    reason = parsed.get("reason")
    stamp = parsed.get("timestamp")
    return (reason if isinstance(reason, str) else None), (f"timestamp {stamp}" if stamp else "")


def build(credentials: Mapping[str, object], options: PnsOptions) -> ApnsSender:
    return ApnsSender(ApnsCredentials.from_dict(credentials), options)
