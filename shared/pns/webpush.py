"""Web Push (RFC 8030) over aiohttp: VAPID-signed, RFC 8291-encrypted POSTs to browser endpoints."""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.errors import BadRequestError
from shared.pns import _classify as cls
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns._http import HttpResponse, HttpSender, post, redirect_detail
from shared.pns._webpush_crypto import (
    MAX_PLAINTEXT,
    VapidSigner,
    b64url,
    b64url_decode,
    encrypt,
    public_bytes,
)
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.options import PnsOptions
from shared.pns.urls import check_device_url

_DEFAULT_TTL = "86400"  # seconds the push service may hold the message (RFC 8030 5.2)
_URGENCIES = frozenset({"very-low", "low", "normal", "high"})
_TOPIC_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

_K = OutcomeKind
# (status, Apple's JSON reason or None) -> outcome. Mozilla and FCM answer with bare statuses.
_TABLE: cls.StatusTable = MappingProxyType(
    {
        (200, None): _K.DELIVERED,  # accepted (some services)
        (201, None): _K.DELIVERED,  # RFC 8030: created, Location names the message
        (202, None): _K.DELIVERED,  # accepted for delivery
        (400, None): _K.PAYLOAD_REJECTED,  # TTL, Topic, Urgency or encryption headers malformed
        (401, None): _K.CREDENTIALS_REJECTED,  # VAPID authorization missing or unreadable
        (403, "VapidPkHashMismatch"): _K.INVALID_HANDLE,  # subscribed under another VAPID key
        (403, None): _K.CREDENTIALS_REJECTED,  # VAPID JWT invalid or expired (BadJwtToken)
        (404, None): _K.EXPIRED_HANDLE,  # RFC 8030 7.3: the subscription expired
        (410, None): _K.EXPIRED_HANDLE,  # gone: unsubscribed (FCM, Mozilla, Apple)
        (413, None): _K.PAYLOAD_REJECTED,  # body over the service's limit
        (429, None): _K.THROTTLED,  # too many requests, with Retry-After
        (500, None): _K.TRANSIENT,  # internal error
        (502, None): _K.TRANSIENT,  # Mozilla's bridge to another service failed
        (503, None): _K.TRANSIENT,  # unavailable / back off
    }
)


# NH's browserCredential property names (ARM templates, the portal) -> ours.
_NH_NAMES = MappingProxyType({"vapidPrivateKey": "private_key", "vapidPublicKey": "public_key"})


@dataclass(frozen=True, repr=False)
class WebPushCredentials(MaskedRepr):
    """VAPID keys. Dict form: ``{"subject" (mailto: or https: contact), "private_key"
    (base64url 32-byte P-256 scalar, as NH stores it, or PEM), "public_key"? (base64url
    uncompressed point; checked against the private key)}``, or NH's browserCredential names
    ``subject``, ``vapidPrivateKey``, ``vapidPublicKey``."""

    _SECRETS: ClassVar[frozenset[str]] = frozenset({"private_key"})

    subject: str
    private_key: str
    public_key: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> WebPushCredentials:
        read = DictReader("Web Push", data, field_names(cls), _NH_NAMES)
        creds = cls(
            subject=read.required("subject"),
            private_key=read.required("private_key"),
            public_key=read.optional("public_key"),
        )
        if not creds.subject.startswith(("mailto:", "https://")):
            raise read.fail("'subject' must be a mailto: or https: URL.")
        key = creds.signing_key()
        if creds.public_key is not None and creds.public_key.rstrip("=") != b64url(
            public_bytes(key)
        ):
            raise read.fail("'public_key' does not belong to 'private_key'.")
        return creds

    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        try:
            if "-----BEGIN" in self.private_key:
                key = serialization.load_pem_private_key(self.private_key.encode(), None)
            else:
                scalar = int.from_bytes(b64url_decode(self.private_key), "big")
                key = ec.derive_private_key(scalar, ec.SECP256R1())
        except (ValueError, TypeError, binascii.Error) as exc:
            raise BadRequestError("Web Push credentials: 'private_key' is unreadable.") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise BadRequestError("Web Push credentials: 'private_key' must be a P-256 key.")
        return key


class WebPushSender(HttpSender):
    platform = Platform.BROWSER

    def __init__(self, credentials: WebPushCredentials, options: PnsOptions) -> None:
        super().__init__(options)
        self.vapid = VapidSigner(credentials.signing_key(), credentials.subject, options.clock)

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        return await self.each(messages, self._send_one)

    async def _send_one(self, message: PushMessage) -> Outcome:
        try:
            url = check_device_url(
                message.handle,
                Platform.BROWSER,
                allowed_test_hosts=self._options.allowed_test_hosts,
            )
        except BadRequestError as exc:
            return cls.local_reject(message.handle, _K.INVALID_HANDLE, exc.detail)
        prepared = self._prepare(message)
        if isinstance(prepared, Outcome):
            return prepared
        headers, body = prepared
        try:
            response = await post(self.session, url, headers=headers, content=body)
        except cls.TransportError as exc:
            return cls.transient(message.handle, str(exc))
        return self._outcome(message.handle, response)

    def _prepare(self, message: PushMessage) -> tuple[dict[str, str], bytes] | Outcome:
        keys = message.web_push_keys
        if keys is None:
            return cls.local_reject(message.handle, _K.INVALID_HANDLE, "no p256dh/auth keys")
        if len(message.payload) > MAX_PLAINTEXT:
            reason = f"payload is {len(message.payload)} bytes, limit {MAX_PLAINTEXT}"
            return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, reason)
        headers = _options(message.headers)
        if isinstance(headers, str):
            return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, headers)
        try:
            body = encrypt(message.payload, b64url_decode(keys.p256dh), b64url_decode(keys.auth))
        except (ValueError, binascii.Error):
            return cls.local_reject(message.handle, _K.INVALID_HANDLE, "unusable p256dh key")
        headers["Authorization"] = self.vapid.authorization(message.handle)
        return headers, body

    def _outcome(self, handle: str, response: HttpResponse) -> Outcome:
        reason, detail = _error_reason(response)
        return cls.outcome(
            _TABLE,
            handle,
            response.status,
            reason,
            detail=redirect_detail(response) or detail,
            retry_after=self.retry_after(response),
        )


def _options(given: Mapping[str, str]) -> dict[str, str] | str:
    """TTL, Urgency and Topic from the message's headers (checked), or what is wrong."""
    lowered = {k.lower(): v.strip() for k, v in given.items()}
    ttl = lowered.get("ttl", _DEFAULT_TTL)
    if not ttl.isdigit():
        return "TTL must be a number of seconds"
    headers = {
        "TTL": ttl,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
    }
    urgency = lowered.get("urgency")
    if urgency is not None:
        if urgency not in _URGENCIES:
            return f"Urgency must be one of {', '.join(sorted(_URGENCIES))}"
        headers["Urgency"] = urgency
    topic = lowered.get("topic")
    if topic is not None:
        if not 0 < len(topic) <= 32 or not _TOPIC_CHARS.issuperset(topic):
            return "Topic must be 1-32 base64url characters"
        headers["Topic"] = topic
    return headers


def _error_reason(response: HttpResponse) -> tuple[str | None, str]:
    """(Apple's reason, other text) from an error body: Apple JSON, Mozilla JSON or plain text."""
    if response.status < 300:
        return None, ""
    try:
        body = json.loads(response.body)
    except ValueError:
        return None, response.body[:200].decode("utf-8", "replace")
    if not isinstance(body, dict):
        return None, ""
    if isinstance(body.get("reason"), str):
        return body["reason"], ""
    if "errno" in body:  # Mozilla autopush
        return None, f"errno {body['errno']}: {body.get('message', body.get('error', ''))}"
    return None, str(body)[:200]


def build(credentials: Mapping[str, object], options: PnsOptions) -> WebPushSender:
    return WebPushSender(WebPushCredentials.from_dict(credentials), options)
