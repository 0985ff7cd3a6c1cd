"""Xiaomi Mi Push (server API v3, ``message/regid``) over aiohttp, many regids per request.

A send is a form POST with ``Authorization: key=<AppSecret>``; ``registration_id`` lists up to
1,000 regids, comma-separated, and v3 lets them belong to different packages, which is why the
app secret alone (NH's credential) suffices. Messages of a batch with the same payload share
requests. Xiaomi answers ``{"result", "code", "reason"?, "data": {"id", "bad_regids"?}}``: code
0 delivers to every regid but the ``bad_regids``, which are dead handles; any other code applies
to the whole request. NH's ``xiaomi`` body is a JSON object of Mi Push message fields
(:func:`message_form`). Protocol facts and sources: docs/pns-baidu-xiaomi.md.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import urlencode

from shared.pns import _classify as cls
from shared.pns._creds import DictReader, MaskedRepr, field_names
from shared.pns._http import HttpResponse, HttpSender, post, redirect_detail
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage
from shared.pns.options import PnsOptions
from shared.pns.urls import check_service_url

XIAOMI_ENDPOINT = "https://api.xmpush.xiaomi.com"  # mainland China, NH's default
# Region names an endpoint may be given as: Xiaomi serves devices outside mainland China from
# the host of their region.
REGIONS: Mapping[str, str] = MappingProxyType(
    {
        "china": XIAOMI_ENDPOINT,
        "global": "https://api.xmpush.global.xiaomi.com",
        "singapore": "https://sgp-api.xmpush.global.xiaomi.com",  # other countries and regions
        "europe": "https://fr-api.xmpush.global.xiaomi.com",  # the EEA and the UK
        "russia": "https://ru-api.xmpush.global.xiaomi.com",
        "india": "https://idmb-api.xmpush.global.xiaomi.com",
        "sandbox": "https://sandbox.xmpush.xiaomi.com",
    }
)
_REGID_PATH = "/v3/message/regid"
MAX_REGIDS = 1000  # regids per request
PAYLOAD_LIMIT = 4096  # bytes of the NH body a message is built from
_TITLE_LIMIT, _DESCRIPTION_LIMIT = 50, 128  # characters: Xiaomi wants fewer
_REGID = re.compile(r"[A-Za-z0-9+/=_.:-]{1,512}")
_INTEGERS = frozenset({"notify_type", "pass_through", "notify_id", "time_to_live", "time_to_send"})
_TEXTS = frozenset({"title", "description", "restricted_package_name"})
_NO_TARGETS = "No valid targets!"
# NH's names: PascalCase in its REST API's hub description, camelCase in ARM templates.
_NH_NAMES = MappingProxyType(
    {"AppSecret": "app_secret", "Endpoint": "endpoint", "appSecret": "app_secret"}
)

_K = OutcomeKind
# (Xiaomi's code, its reason or None) -> outcome, for answers whose code is not 0.
_TABLE: cls.CodeTable = MappingProxyType(
    {
        (10001, None): _K.TRANSIENT,  # system error
        (10002, None): _K.TRANSIENT,  # system busy
        (10003, None): _K.TRANSIENT,  # remote service error
        (10027, None): _K.THROTTLED,  # the app calls the API too often
        (10034, None): _K.THROTTLED,  # the app sent too many messages today
        (10037, None): _K.TRANSIENT,  # the request expired on the way
        (10031, None): _K.CREDENTIALS_REJECTED,  # the app is blacklisted: it may not send
        (10036, None): _K.CREDENTIALS_REJECTED,  # the app's operations are forbidden
        (21301, None): _K.CREDENTIALS_REJECTED,  # authentication failed: the AppSecret
        (22000, None): _K.CREDENTIALS_REJECTED,  # not a valid app
        (20301, _NO_TARGETS): _K.INVALID_HANDLE,  # every regid of the request is invalid
        (20301, None): _K.TRANSIENT,  # sending the message failed
        (65009, None): _K.PAYLOAD_REJECTED,  # the message content is too long
    }
)
_NO_CODES: cls.StatusTable = MappingProxyType({(429, None): _K.THROTTLED})


@dataclass(frozen=True, repr=False)
class XiaomiCredentials(MaskedRepr):
    """Dict form: ``{"app_secret", "endpoint"?}``, or NH's names ``AppSecret`` and
    ``Endpoint``. ``endpoint`` is a base URL or a region name of :data:`REGIONS`."""

    _SECRETS: ClassVar[frozenset[str]] = frozenset({"app_secret"})

    app_secret: str
    endpoint: str = XIAOMI_ENDPOINT

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> XiaomiCredentials:
        read = DictReader("Xiaomi", data, field_names(cls), _NH_NAMES)
        endpoint = read.optional("endpoint") or XIAOMI_ENDPOINT
        return cls(
            app_secret=read.required("app_secret"),
            endpoint=REGIONS.get(endpoint.lower(), endpoint).rstrip("/"),
        )


def message_form(payload: bytes) -> dict[str, str]:
    """The Mi Push form fields for an NH ``xiaomi`` body; ValueError says what is wrong.

    The body is a JSON object of ``payload`` (text, or JSON sent as its text), ``title``,
    ``description``, ``restricted_package_name``, the integers ``notify_type``,
    ``pass_through``, ``notify_id``, ``time_to_live`` (ms) and ``time_to_send`` (ms), and
    ``extra`` (an object) or ``extra.<name>`` fields. A notification (``pass_through`` 0, the
    default) needs a title and a description."""
    try:
        document = json.loads(payload)
    except ValueError as exc:
        raise ValueError("a xiaomi notification must be a JSON object") from exc
    if not isinstance(document, dict):
        raise ValueError("a xiaomi notification must be a JSON object")
    form: dict[str, str] = {}
    for key, value in document.items():
        if key == "extra":
            if not isinstance(value, dict):
                raise ValueError("'extra' must be an object")
            form.update({f"extra.{k}": _text(f"extra.{k}", v) for k, v in value.items()})
        elif key == "payload":
            form[key] = (
                value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            )
        elif key in _INTEGERS:
            form[key] = str(_integer(key, value))
        elif key in _TEXTS or key.startswith("extra."):
            form[key] = _text(key, value)
        else:
            raise ValueError(f"'{key[:40]}' is not a Mi Push message field")
    _check_notification(form)
    return form


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"'{key[:40]}' must be text")
    return str(value)


def _integer(key: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{key}' must be an integer")
    return value


def _check_notification(form: Mapping[str, str]) -> None:
    if form.get("pass_through", "0") not in ("0", "1"):
        raise ValueError("'pass_through' must be 0 (notification) or 1 (pass-through)")
    if form.get("pass_through", "0") == "0":
        for key in ("title", "description"):
            if not form.get(key, "").strip():
                raise ValueError(f"a notification needs a non-blank '{key}'")
    if len(form.get("title", "")) >= _TITLE_LIMIT:
        raise ValueError(f"'title' must be shorter than {_TITLE_LIMIT} characters")
    if len(form.get("description", "")) >= _DESCRIPTION_LIMIT:
        raise ValueError(f"'description' must be shorter than {_DESCRIPTION_LIMIT} characters")


@dataclass(frozen=True, slots=True)
class _Request:
    """One POST: a payload's form and up to :data:`MAX_REGIDS` distinct regids."""

    payload: bytes
    form: Mapping[str, str]
    regids: tuple[str, ...]


class XiaomiSender(HttpSender):
    platform = Platform.XIAOMI

    def __init__(self, credentials: XiaomiCredentials, options: PnsOptions) -> None:
        super().__init__(options)
        self._url = credentials.endpoint + _REGID_PATH
        self._headers = {
            "Authorization": f"key={credentials.app_secret}",
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            "Accept": "application/json",
        }

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        groups: dict[bytes, list[int]] = {}  # payload -> the messages that carry it
        for index, message in enumerate(messages):
            rejected = _local_check(message)
            if rejected is None:
                groups.setdefault(message.payload, []).append(index)
            else:
                outcomes[index] = rejected
        requests: list[_Request] = []
        for payload, indexes in groups.items():
            try:
                form = message_form(payload)
            except ValueError as exc:
                for index in indexes:
                    handle = messages[index].handle
                    outcomes[index] = cls.local_reject(handle, _K.PAYLOAD_REJECTED, str(exc))
                continue
            regids = tuple(dict.fromkeys(messages[i].handle for i in indexes))
            for start in range(0, len(regids), MAX_REGIDS):
                requests.append(_Request(payload, form, regids[start : start + MAX_REGIDS]))
        answers = await asyncio.gather(*(self._post(request) for request in requests))
        answered = {
            (request.payload, outcome.handle): outcome
            for request, answer in zip(requests, answers, strict=True)
            for outcome in answer
        }
        for payload, indexes in groups.items():
            for index in indexes:
                if index not in outcomes:
                    outcomes[index] = answered[(payload, messages[index].handle)]
        return [outcomes[index] for index in range(len(messages))]

    async def _post(self, request: _Request) -> list[Outcome]:
        content = urlencode({**request.form, "registration_id": ",".join(request.regids)})
        async with self._limit:
            try:
                response = await post(
                    self.session, self._url, headers=self._headers, content=content.encode()
                )
            except cls.TransportError as exc:
                return [cls.transient(regid, str(exc)) for regid in request.regids]
        return self._outcomes(request.regids, response)

    def _outcomes(self, regids: Sequence[str], response: HttpResponse) -> list[Outcome]:
        try:
            body = json.loads(response.body) if response.body else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        code = body.get("code")
        status = response.status
        if status >= 500 or not isinstance(code, int) or isinstance(code, bool):
            detail = redirect_detail(response) or "no result code in the answer"
            retry = self.retry_after(response)
            return [
                cls.outcome(_NO_CODES, r, status, response.reason, detail=detail, retry_after=retry)
                for r in regids
            ]
        reason = body.get("reason") or body.get("description") or ""
        if code == 0:
            return _delivered(regids, body.get("data"), status)
        kind = cls.classify_code(_TABLE, code, str(reason))
        return [Outcome(kind, r, status, f"{code} {reason}".rstrip()) for r in regids]


def _local_check(message: PushMessage) -> Outcome | None:
    """The outcome of a message that cannot be sent as it is, or None."""
    if not _REGID.fullmatch(message.handle):
        return cls.local_reject(message.handle, _K.INVALID_HANDLE, "not a Xiaomi regid")
    if len(message.payload) > PAYLOAD_LIMIT:
        reason = f"payload is {len(message.payload)} bytes, limit {PAYLOAD_LIMIT}"
        return cls.local_reject(message.handle, _K.PAYLOAD_REJECTED, reason)
    return None


def _delivered(regids: Sequence[str], data: object, status: int) -> list[Outcome]:
    """Code 0: delivered to every regid but the bad ones Xiaomi lists."""
    listed = data.get("bad_regids") if isinstance(data, dict) else None
    bad = set(listed.split(",")) if isinstance(listed, str) else set()
    return [
        Outcome(_K.INVALID_HANDLE, r, status, "bad_regids: not a valid regid")
        if r in bad
        else Outcome(_K.DELIVERED, r, status, "OK")
        for r in regids
    ]


def build(credentials: Mapping[str, object], options: PnsOptions) -> XiaomiSender:
    creds = XiaomiCredentials.from_dict(credentials)
    check_service_url(
        creds.endpoint, Platform.XIAOMI, allowed_test_hosts=options.allowed_test_hosts
    )
    return XiaomiSender(creds, options)
