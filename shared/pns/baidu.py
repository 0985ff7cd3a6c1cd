"""Baidu Cloud Push (REST API 3.0) over aiohttp: one signed ``push/single_device`` POST per channel.

Every request carries the app's API key, a UNIX timestamp and ``sign``: the MD5 of
``POST`` + the request URL + the sorted ``key=value`` parameters + the secret key, URL-encoded
as PHP's ``urlencode`` does. Baidu answers ``{"request_id", "response_params": {...}}`` or
``{"request_id", "error_code", "error_msg"}``; the error code decides the outcome, whatever the
HTTP status. Protocol facts and sources: docs/pns-baidu-xiaomi.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import quote_plus, urlencode

from shared.pns import _classify as cls
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns._http import HttpResponse, HttpSender, post, redirect_detail
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.options import PnsOptions
from shared.pns.urls import check_service_url

BAIDU_ENDPOINT = "https://api.tuisong.baidu.com/rest/3.0"
# NH's BaiduCredential defaults BaiduEndPoint to the retired 2.0 channel API; an NH credential
# copied as it is means Baidu's service, which now answers at the 3.0 endpoint.
_NH_LEGACY_ENDPOINTS = frozenset({"https://channel.api.duapp.com/rest/2.0/channel/channel"})
_SINGLE_DEVICE = "/push/single_device"
_ANDROID = "3"  # device_type: a 3.0 app serves one platform, and NH's Baidu devices are Android
MESSAGE, NOTIFICATION = "0", "1"  # msg_type: pass-through message, or a notification
MESSAGE_TYPE_HEADER = "x-baidu-message-type"  # NH's BaiduNotification.MessageType
PAYLOAD_LIMIT = 4096  # bytes of ``msg``
_USER_AGENT = "BCCS_SDK/3.0 (Herald) Python/3 (Herald Baidu sender)"
_FORM = "application/x-www-form-urlencoded;charset=utf-8"
_CHANNEL = re.compile(r"[0-9A-Za-z_]{1,64}")
# NH's credential property names for the fields.
# NH's names: PascalCase in its REST API's hub description, camelCase in ARM templates.
_NH_NAMES = MappingProxyType(
    {
        "BaiduApiKey": "api_key",
        "BaiduSecretKey": "secret_key",
        "BaiduEndPoint": "endpoint",
        "baiduApiKey": "api_key",
        "baiduSecretKey": "secret_key",
        "baiduEndPoint": "endpoint",
    }
)

_K = OutcomeKind
# (Baidu's error_code, None) -> outcome.
_TABLE: cls.CodeTable = MappingProxyType(
    {
        (30600, None): _K.TRANSIENT,  # Internal Server Error
        (30601, None): _K.PAYLOAD_REJECTED,  # Method Not Allowed: a request we built wrongly
        (30602, None): _K.PAYLOAD_REJECTED,  # Request Params Not Valid (msg, msg_type, ...)
        (30603, None): _K.CREDENTIALS_REJECTED,  # Authentication Failed: API key or signature
        (30604, None): _K.THROTTLED,  # Quota Use Up Payment Required: no Retry-After is given
        (30606, None): _K.TRANSIENT,  # Request Time Expires Timeout: signed again on retry
        (30607, None): _K.EXPIRED_HANDLE,  # Channel Token Timeout: the channel has expired
        (30608, None): _K.EXPIRED_HANDLE,  # Bind Relation Not Found: the app was unbound
        (30612, None): _K.CREDENTIALS_REJECTED,  # Application Forbidden, Need Whitelist
    }
)
_NO_CODES: cls.StatusTable = MappingProxyType({})  # an answer without an error_code


@dataclass(frozen=True, repr=False)
class BaiduCredentials(MaskedRepr):
    """Dict form: ``{"api_key", "secret_key", "endpoint"?}``, or NH's names ``BaiduApiKey``,
    ``BaiduSecretKey`` and ``BaiduEndPoint``. ``endpoint`` is the REST 3.0 base URL."""

    _SECRETS: ClassVar[frozenset[str]] = frozenset({"secret_key"})

    api_key: str
    secret_key: str
    endpoint: str = BAIDU_ENDPOINT

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BaiduCredentials:
        read = DictReader("Baidu", data, field_names(cls), _NH_NAMES)
        endpoint = (read.optional("endpoint") or BAIDU_ENDPOINT).rstrip("/")
        if endpoint.lower() in _NH_LEGACY_ENDPOINTS:
            endpoint = BAIDU_ENDPOINT
        return cls(
            api_key=read.required("api_key"),
            secret_key=read.required("secret_key"),
            endpoint=endpoint,
        )


def sign(method: str, url: str, params: Mapping[str, str], secret_key: str) -> str:
    """Baidu's request signature: lower-case hex MD5 of the PHP-urlencoded
    ``method + url + k1=v1k2=v2... (keys sorted) + secret_key``."""
    gathered = method + url + "".join(f"{k}={params[k]}" for k in sorted(params)) + secret_key
    encoded = quote_plus(gathered, safe="").replace("~", "%7E")  # PHP encodes '~' too
    return hashlib.md5(encoded.encode(), usedforsecurity=False).hexdigest()


def channel_id(handle: str) -> str | None:
    """The channel id in a handle: NH's ``{userId}-{channelId}`` or a bare channel id."""
    _, _, channel = handle.rpartition("-")
    return channel if _CHANNEL.fullmatch(channel) else None


def message_type(payload: bytes, headers: Mapping[str, str]) -> str:
    """``msg_type``: NH's X-Baidu-Message-Type when sent; else a notification when the body has
    a ``description`` (Baidu requires one for notifications), else a pass-through message."""
    given = headers.get(MESSAGE_TYPE_HEADER)
    if given in (MESSAGE, NOTIFICATION):
        return given
    try:
        document = json.loads(payload)
    except ValueError:
        return MESSAGE
    return NOTIFICATION if isinstance(document, dict) and "description" in document else MESSAGE


class BaiduSender(HttpSender):
    platform = Platform.BAIDU

    def __init__(self, credentials: BaiduCredentials, options: PnsOptions) -> None:
        super().__init__(options)
        self._creds = credentials
        self._url = credentials.endpoint + _SINGLE_DEVICE

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        return await self.each(messages, self._send_one)

    async def _send_one(self, message: PushMessage) -> Outcome:
        handle = message.handle
        channel = channel_id(handle)
        if channel is None:
            return cls.local_reject(handle, _K.INVALID_HANDLE, "not a Baidu channel id")
        if len(message.payload) > PAYLOAD_LIMIT:
            reason = f"msg is {len(message.payload)} bytes, limit {PAYLOAD_LIMIT}"
            return cls.local_reject(handle, _K.PAYLOAD_REJECTED, reason)
        try:
            msg = message.payload.decode("utf-8")
        except UnicodeDecodeError:
            return cls.local_reject(handle, _K.PAYLOAD_REJECTED, "msg is not UTF-8 text")
        params = {
            "apikey": self._creds.api_key,
            "timestamp": str(int(self._options.clock())),
            "device_type": _ANDROID,
            "channel_id": channel,
            "msg_type": message_type(message.payload, message.headers),
            "msg": msg,
        }
        params["sign"] = sign("POST", self._url, params, self._creds.secret_key)
        headers = {"Content-Type": _FORM, "User-Agent": _USER_AGENT}
        content = urlencode(params).encode()
        try:
            response = await post(self.session, self._url, headers=headers, content=content)
        except cls.TransportError as exc:
            return cls.transient(handle, str(exc))
        return _outcome(handle, response)


def _outcome(handle: str, response: HttpResponse) -> Outcome:
    try:
        body = json.loads(response.body) if response.body else {}
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = body.get("error_code")
    if isinstance(code, int) and not isinstance(code, bool):
        text = f"{code} {body.get('error_msg') or ''}".rstrip()
        kind = cls.classify_code(_TABLE, code, None)
        if response.status >= 500 and kind is _K.PAYLOAD_REJECTED:
            kind = _K.TRANSIENT  # an unknown code from a failing server: try again
        return Outcome(kind, handle, response.status, text)
    if response.status == 200 and isinstance(body.get("response_params"), dict):
        return Outcome(_K.DELIVERED, handle, 200, "OK")
    detail = redirect_detail(response) or "no error_code in the answer"
    return cls.outcome(_NO_CODES, handle, response.status, response.reason, detail=detail)


def build(credentials: Mapping[str, object], options: PnsOptions) -> BaiduSender:
    creds = BaiduCredentials.from_dict(credentials)
    check_service_url(creds.endpoint, Platform.BAIDU, allowed_test_hosts=options.allowed_test_hosts)
    return BaiduSender(creds, options)
