"""Windows Push Notification Services over aiohttp (HTTP/1.1), with either OAuth flow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from shared.errors import BadRequestError
from shared.pns import _classify as cls
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns._http import HttpResponse, OAuthHttpSender, fetch_token, post, redirect_detail
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.options import PnsOptions
from shared.pns.urls import check_device_url

LIVE_TOKEN_ENDPOINT = "https://login.live.com/accesstoken.srf"
ENTRA_TOKEN_ENDPOINT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
_LIVE_SCOPE = "notify.windows.com"
_ENTRA_SCOPE = "https://wns.windows.com/.default"
_PAYLOAD_LIMIT = 5000
# X-WNS-Type -> Content-Type WNS requires with it.
_CONTENT_TYPES = MappingProxyType(
    {
        "wns/toast": "text/xml",
        "wns/tile": "text/xml",
        "wns/badge": "text/xml",
        "wns/raw": "application/octet-stream",
    }
)

_K = OutcomeKind
# (status, None) -> outcome: WNS answers with bare statuses plus X-WNS-* headers.
_TABLE: cls.StatusTable = MappingProxyType(
    {
        (200, None): _K.DELIVERED,  # X-WNS-Status received (or dropped: accepted, not cached)
        (400, None): _K.PAYLOAD_REJECTED,  # headers missing or conflicting
        (401, None): _K.CREDENTIALS_REJECTED,  # access token refused again after one re-auth
        (403, None): _K.CREDENTIALS_REJECTED,  # the token's app is not the channel's app
        (404, None): _K.INVALID_HANDLE,  # channel URI not recognised: stop sending to it
        (405, None): _K.PAYLOAD_REJECTED,  # not POST: a request we built wrongly
        (406, None): _K.THROTTLED,  # channelthrottled: wait for X-WNS-CONTINUE-AFTER
        (410, None): _K.EXPIRED_HANDLE,  # channel expired (30 days): the app needs a new one
        (413, None): _K.PAYLOAD_REJECTED,  # over 5000 bytes
        (429, None): _K.THROTTLED,  # too many requests
        (500, None): _K.TRANSIENT,  # internal failure
        (503, None): _K.TRANSIENT,  # unavailable
    }
)


# NH's wnsCredential property names (ARM templates, the portal) -> ours.
_NH_NAMES = MappingProxyType(
    {
        "packageSid": "client_id",
        "secretKey": "client_secret",
        "windowsLiveEndpoint": "token_endpoint",
    }
)


@dataclass(frozen=True, repr=False)
class WnsCredentials(MaskedRepr):
    """Dict form: ``{"client_id", "client_secret", "tenant_id"?, "token_endpoint"?}``, or NH's
    wnsCredential names ``packageSid``, ``secretKey``, ``windowsLiveEndpoint``.

    Without ``tenant_id`` it is the legacy flow (``client_id`` = Package SID
    ``ms-app://...``, at login.live.com); with it, the Entra ID client-credentials flow
    (``client_id`` = the app's Azure AppId).
    """

    _SECRETS: ClassVar[frozenset[str]] = frozenset({"client_secret"})

    client_id: str
    client_secret: str
    tenant_id: str | None = None
    token_endpoint: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> WnsCredentials:
        read = DictReader("WNS", data, field_names(cls), _NH_NAMES)
        return cls(
            client_id=read.required("client_id"),
            client_secret=read.required("client_secret"),
            tenant_id=read.optional("tenant_id"),
            token_endpoint=read.optional("token_endpoint"),
        )

    def token_request(self) -> tuple[str, dict[str, str]]:
        """(token endpoint URL, form fields) for this flow."""
        if self.tenant_id:
            url = self.token_endpoint or ENTRA_TOKEN_ENDPOINT.format(tenant=self.tenant_id)
            scope = _ENTRA_SCOPE
        else:
            url, scope = self.token_endpoint or LIVE_TOKEN_ENDPOINT, _LIVE_SCOPE
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "scope": scope,
        }
        return url, form


class WnsSender(OAuthHttpSender):
    platform = Platform.WNS

    def __init__(self, credentials: WnsCredentials, options: PnsOptions) -> None:
        self._creds = credentials
        super().__init__(options, refused=_token_refused)

    async def _send_one(self, message: PushMessage, token: str) -> Outcome:
        try:
            url = check_device_url(
                message.handle, Platform.WNS, allowed_test_hosts=self._options.allowed_test_hosts
            )
        except BadRequestError as exc:
            return cls.local_reject(message.handle, _K.INVALID_HANDLE, exc.detail)
        headers = _request_headers(message, token)
        if isinstance(headers, str):
            return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, headers)
        try:
            response = await post(self.session, url, headers=headers, content=message.payload)
        except cls.TransportError as exc:
            return cls.transient(message.handle, str(exc))
        return self._outcome(message.handle, response)

    def _outcome(self, handle: str, response: HttpResponse) -> Outcome:
        status = response.status
        reason = response.headers.get("x-wns-status") or response.reason
        detail = response.headers.get("x-wns-error-description", "") or redirect_detail(response)
        retry_after = self.retry_after(response, "retry-after", "x-wns-continue-after")
        return cls.outcome(_TABLE, handle, status, reason, detail=detail, retry_after=retry_after)

    async def _fetch_token(self) -> tuple[str, float]:
        url, form = self._creds.token_request()
        return await fetch_token(self.session, url, form)


def _token_refused(outcome: Outcome) -> bool:
    """WNS answers 401 when our access token is refused (it may have expired early)."""
    return outcome.status == 401


def _request_headers(message: PushMessage, token: str) -> dict[str, str] | str:
    """The request headers, or why the message cannot be sent."""
    if len(message.payload) > _PAYLOAD_LIMIT:
        return f"payload is {len(message.payload)} bytes, limit {_PAYLOAD_LIMIT}"
    passed = {k: v for k, v in message.headers.items() if k.lower().startswith("x-wns-")}
    given_type = next((v for k, v in passed.items() if k.lower() == "x-wns-type"), None)
    wns_type = (given_type or _derive_type(message.payload)).lower()
    content_type = _CONTENT_TYPES.get(wns_type)
    if content_type is None:
        return f"unknown X-WNS-Type {wns_type!r}"
    headers = {k: v for k, v in passed.items() if k.lower() != "x-wns-type"}
    headers.update(
        {"Authorization": f"Bearer {token}", "X-WNS-Type": wns_type, "Content-Type": content_type}
    )
    return headers


def _derive_type(payload: bytes) -> str:
    """NH sends X-WNS-Type; without it, the XML root element says which kind it is."""
    head = payload.lstrip()[:10].lower()
    for kind in ("toast", "tile", "badge"):
        if head.startswith(b"<" + kind.encode()):
            return f"wns/{kind}"
    return "wns/raw"


def build(credentials: Mapping[str, object], options: PnsOptions) -> WnsSender:
    return WnsSender(WnsCredentials.from_dict(credentials), options)
