"""Amazon Device Messaging over aiohttp: OAuth client credentials, one POST per registration id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import quote

from shared.pns import _classify as cls
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns._http import HttpResponse, OAuthHttpSender, fetch_token, post, redirect_detail
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.options import PnsOptions

ADM_ENDPOINT = "https://api.amazon.com"
ADM_TOKEN_ENDPOINT = "https://api.amazon.com/auth/O2/token"
_SCOPE = "messaging:push"
_PAYLOAD_LIMIT = 6144  # ADM: 6 KB per message
_MAX_ID_LENGTH = 2048
_TOKEN_EXPIRED = "AccessTokenExpired"
_STATIC_HEADERS = MappingProxyType(
    {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Amzn-Type-Version": "com.amazon.device.messaging.ADMMessage@1.0",
        "X-Amzn-Accept-Type": "com.amazon.device.messaging.ADMSendResult@1.0",
    }
)

_K = OutcomeKind
# (status, ADM's {"reason": ...}) -> outcome.
_TABLE: cls.StatusTable = MappingProxyType(
    {
        (200, None): _K.DELIVERED,  # {"registrationID": ...}: a different id replaces the handle
        (400, "InvalidRegistrationId"): _K.INVALID_HANDLE,  # not an id for this app
        (400, "Unregistered"): _K.EXPIRED_HANDLE,  # the app was uninstalled or unregistered
        (400, None): _K.PAYLOAD_REJECTED,  # InvalidData, InvalidConsolidationKey, ...Expiration
        (401, _TOKEN_EXPIRED): _K.TRANSIENT,  # refused again after one refresh: retry later
        (401, None): _K.CREDENTIALS_REJECTED,  # the access token is not accepted at all
        (403, None): _K.CREDENTIALS_REJECTED,  # the security profile may not send
        (413, None): _K.PAYLOAD_REJECTED,  # MessageTooLarge
        (429, None): _K.THROTTLED,  # MaxRateExceeded, with Retry-After
        (500, None): _K.TRANSIENT,  # internal error, with Retry-After
        (503, None): _K.TRANSIENT,  # unavailable, with Retry-After
    }
)


# NH's admCredential property names (ARM templates, the portal) -> ours.
_NH_NAMES = MappingProxyType(
    {"clientId": "client_id", "clientSecret": "client_secret", "authTokenUrl": "token_endpoint"}
)


@dataclass(frozen=True, repr=False)
class AdmCredentials(MaskedRepr):
    """Dict form: ``{"client_id", "client_secret", "endpoint"?, "token_endpoint"?}``, or NH's
    admCredential names ``clientId``, ``clientSecret``, ``authTokenUrl``."""

    _SECRETS: ClassVar[frozenset[str]] = frozenset({"client_secret"})

    client_id: str
    client_secret: str
    endpoint: str = ADM_ENDPOINT
    token_endpoint: str = ADM_TOKEN_ENDPOINT

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AdmCredentials:
        read = DictReader("ADM", data, field_names(cls), _NH_NAMES)
        return cls(
            client_id=read.required("client_id"),
            client_secret=read.required("client_secret"),
            endpoint=(read.optional("endpoint") or ADM_ENDPOINT).rstrip("/"),
            token_endpoint=read.optional("token_endpoint") or ADM_TOKEN_ENDPOINT,
        )


class AdmSender(OAuthHttpSender):
    platform = Platform.ADM

    def __init__(self, credentials: AdmCredentials, options: PnsOptions) -> None:
        self._creds = credentials
        super().__init__(options, refused=_token_expired)

    async def _send_one(self, message: PushMessage, token: str) -> Outcome:
        handle = message.handle
        if not 0 < len(handle) <= _MAX_ID_LENGTH or not handle.isprintable() or " " in handle:
            return cls.local_reject(handle, _K.INVALID_HANDLE, "InvalidRegistrationId: malformed")
        if len(message.payload) > _PAYLOAD_LIMIT:
            reason = f"MessageTooLarge: {len(message.payload)} bytes, limit {_PAYLOAD_LIMIT}"
            return cls.local_reject(handle, _K.PAYLOAD_REJECTED, reason)
        url = f"{self._creds.endpoint}/messaging/registrations/{quote(handle, safe='')}/messages"
        headers = {**_STATIC_HEADERS, "Authorization": f"Bearer {token}"}
        try:
            response = await post(self.session, url, headers=headers, content=message.payload)
        except cls.TransportError as exc:
            return cls.transient(handle, str(exc))
        return self._outcome(handle, response)

    def _outcome(self, handle: str, response: HttpResponse) -> Outcome:
        try:
            body = json.loads(response.body) if response.body else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        reason = body.get("reason") if isinstance(body.get("reason"), str) else None
        current = body.get("registrationID")
        replaced = current if isinstance(current, str) and current != handle else None
        return cls.outcome(
            _TABLE,
            handle,
            response.status,
            reason,
            detail=redirect_detail(response),
            retry_after=self.retry_after(response),
            new_handle=replaced if response.status == 200 else None,
        )

    async def _fetch_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "scope": _SCOPE,
            "client_id": self._creds.client_id,
            "client_secret": self._creds.client_secret,
        }
        return await fetch_token(self.session, self._creds.token_endpoint, form)


def _token_expired(outcome: Outcome) -> bool:
    """ADM refused our access token as expired (a bare 401 is a credentials problem)."""
    return outcome.status == 401 and outcome.reason == _TOKEN_EXPIRED


def build(credentials: Mapping[str, object], options: PnsOptions) -> AdmSender:
    return AdmSender(AdmCredentials.from_dict(credentials), options)
