"""WNS simulator: both OAuth client-credentials flows and the channel endpoint ``POST /?token=``.

Answers carry ``X-WNS-Status``, ``X-WNS-Msg-ID`` and ``X-WNS-Debug-Trace`` as WNS does; errors
also carry ``X-WNS-Error-Description``. A throttled channel gets 406 with
``X-WNS-CONTINUE-AFTER`` (WNS's own throttle signal) and ``Retry-After``.
"""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import unquote

from emulator.pns._http import Rejected, Reply, Request, json_reply
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, TokenStore, connection_fault

LIVE_TOKEN_PATH = "/accesstoken.srf"
LIVE_SCOPE = "notify.windows.com"
AAD_SCOPE = "https://wns.windows.com/.default"
_AAD_TOKEN = re.compile(r"/([^/]+)/oauth2/v2\.0/token")
_CHANNEL = re.compile(r"[A-Za-z0-9+/=_\-.~]{8,2048}")
_TYPES = {
    "wns/toast": "text/xml",
    "wns/tile": "text/xml",
    "wns/badge": "text/xml",
    "wns/raw": "application/octet-stream",
}
_TAG = re.compile(r"[A-Za-z0-9]{1,16}")
_MAX_PAYLOAD = 5000


@dataclass(frozen=True, slots=True)
class WnsClient:
    client_id: str  # Package SID (ms-app://...) or an Entra application id
    client_secret: str
    tenant_id: str = ""  # Entra clients: the tenant their token endpoint is under


class WnsSimulator:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self.clients: dict[str, WnsClient] = {}
        self.tokens = TokenStore("EwB")

    def __call__(self, req: Request) -> Reply:
        if req.path == LIVE_TOKEN_PATH:
            return self._token(req, LIVE_SCOPE, None)
        match = _AAD_TOKEN.fullmatch(req.path)
        if match is not None:
            return self._token(req, AAD_SCOPE, match.group(1))
        if req.path != "/":
            return _error(404, "The channel URI is not valid.")
        handle = _channel_token(req.query)
        try:
            self._check(req, handle)
        except Rejected as exc:
            self._state.reject(Sim.WNS, handle, f"{exc.status}")
            return _error(exc.status, exc.reason, *exc.headers)
        return self._deliver(req, handle)

    def _token(self, req: Request, scope: str, tenant: str | None) -> Reply:
        form = req.form() if req.method == "POST" else {}
        client = self.clients.get(form.get("client_id", ""))
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        known = client is not None and secrets.compare_digest(
            client.client_secret, form.get("client_secret", "")
        )
        if not known or (tenant is not None and client and client.tenant_id not in ("", tenant)):
            return json_reply(400 if tenant is None else 401, {"error": "invalid_client"})
        if form.get("scope") != scope:
            return json_reply(400, {"error": "invalid_scope"})
        assert client is not None
        if tenant is None:
            token = self.tokens.issue(client.client_id, 86400)
            return json_reply(
                200, {"access_token": token, "token_type": "bearer", "expires_in": 86400}
            )
        token = self.tokens.issue(client.client_id, 86399)
        body = {"token_type": "Bearer", "expires_in": "86399", "ext_expires_in": "86399"}
        return json_reply(200, {**body, "access_token": token})

    def _check(self, req: Request, handle: str) -> None:
        if req.method != "POST":
            raise Rejected(405, "Only POST is supported.")
        if self.tokens.check(req.bearer()) is None:
            raise Rejected(401, "The access token is invalid or has expired.")
        if not _CHANNEL.fullmatch(handle):
            raise Rejected(404, "The channel URI is not valid.")
        kind = req.header("x-wns-type")
        if kind not in _TYPES:
            raise Rejected(400, "X-WNS-Type is missing or invalid.")
        content_type = req.header("content-type").split(";")[0].strip().lower()
        if content_type != _TYPES[kind]:
            raise Rejected(400, f"Content-Type must be {_TYPES[kind]} for {kind}.")
        _check_optional_headers(req)
        if len(req.body) > _MAX_PAYLOAD:
            raise Rejected(413, "The notification payload exceeds the 5000 byte limit.")
        if kind != "wns/raw":
            _check_xml(req.body, kind.removeprefix("wns/"))

    def _deliver(self, req: Request, handle: str) -> Reply:
        fault, latency = self._state.draw_fault(Sim.WNS, handle)
        if fault is not None:
            self._state.reject(Sim.WNS, handle, f"fault:{fault.value}")
            return self._fault_reply(fault).with_delay(latency)
        state, _ = self._state.handle_state(Sim.WNS, handle)
        if state is HandleState.DEAD:
            self._state.reject(Sim.WNS, handle, "410")
            return _error(410, "The channel expired.").with_delay(latency)
        if state is HandleState.MISMATCH:
            self._state.reject(Sim.WNS, handle, "403")
            return _error(403, "The token does not match the app of the channel.")
        msg_id = secrets.token_hex(8).upper()
        self._state.record(Sim.WNS, handle, req.body, req.headers, msg_id)
        answer = [("x-wns-status", "received"), ("x-wns-msg-id", msg_id), _trace()]
        if req.header("x-wns-requestforstatus").lower() == "true":
            answer.append(("x-wns-deviceconnectionstatus", "connected"))
        if "ms-cv" in req.headers:
            answer.append(("ms-cv", req.headers["ms-cv"]))
        return Reply(200, tuple(answer), delay=latency)

    def _fault_reply(self, fault: FaultKind) -> Reply:
        spec = self._state.faults(Sim.WNS)
        if fault is FaultKind.THROTTLE:
            after = str(spec.retry_after)
            return _error(
                406,
                "The channel is throttled.",
                ("x-wns-status", "channelthrottled"),
                ("x-wns-continue-after", after),
                ("retry-after", after),
            )
        if fault is FaultKind.ERROR:
            return _error(spec.error_status or 503, "The service is unavailable.")
        reply = connection_fault(fault, b"")
        assert reply is not None
        return reply


def _check_optional_headers(req: Request) -> None:
    checks = (
        ("x-wns-cache-policy", lambda v: v in ("cache", "no-cache")),
        ("x-wns-requestforstatus", lambda v: v.lower() in ("true", "false")),
        ("x-wns-tag", lambda v: bool(_TAG.fullmatch(v))),
        ("x-wns-group", lambda v: bool(_TAG.fullmatch(v))),
        ("x-wns-ttl", lambda v: v.isdigit()),
        ("x-wns-priority", lambda v: v in ("1", "2", "3", "4")),
    )
    for name, valid in checks:
        value = req.headers.get(name)
        if value is not None and not valid(value):
            raise Rejected(400, f"The {name} header is invalid.")


def _check_xml(body: bytes, root: str) -> None:
    try:
        element = ET.fromstring(body)
    except ET.ParseError as exc:
        raise Rejected(400, "The notification payload is not well-formed XML.") from exc
    if element.tag != root:
        raise Rejected(400, f"The payload root element must be <{root}>.")


def _channel_token(query: str) -> str:
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "token":
            return unquote(value)
    return ""


def _trace() -> tuple[str, str]:
    return ("x-wns-debug-trace", f"SIM-{secrets.token_hex(6).upper()}")


def _error(status: int, description: str, *headers: tuple[str, str]) -> Reply:
    base = (("x-wns-error-description", description), _trace(), *headers)
    return Reply(status, base)
