"""Amazon Device Messaging simulator: the LWA token endpoint and ``POST .../messages``."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.pns._http import Rejected, Reply, Request, json_reply, parse_json_object
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, TokenStore, connection_fault

TOKEN_PATH = "/auth/O2/token"
SCOPE = "messaging:push"
TYPE_VERSION = "com.amazon.device.messaging.ADMMessage@1.0"
_SEND = re.compile(r"/messaging/registrations/([^/]+)/messages")
_REGISTRATION = re.compile(r"[A-Za-z0-9._\-:]{8,2048}")
_MAX_DATA = 6144
_MAX_EXPIRES = 2_678_400  # 31 days
_FIELDS = frozenset({"data", "notification", "consolidationKey", "expiresAfter", "md5", "priority"})


@dataclass(frozen=True, slots=True)
class AdmClient:
    client_id: str
    client_secret: str


class AdmSimulator:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self.clients: dict[str, AdmClient] = {}
        self.tokens = TokenStore("Atc|sim-")

    def __call__(self, req: Request) -> Reply:
        if req.path == TOKEN_PATH:
            return self._token(req)
        match = _SEND.fullmatch(req.path)
        if match is None:
            return _error(404, "NotFound")
        handle = match.group(1)
        try:
            self._check(req, handle)
        except Rejected as exc:
            self._state.reject(Sim.ADM, handle, exc.reason)
            return _error(exc.status, exc.reason)
        return self._deliver(req, handle)

    def _token(self, req: Request) -> Reply:
        form = req.form() if req.method == "POST" else {}
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        client = self.clients.get(form.get("client_id", ""))
        if client is None or not secrets.compare_digest(
            client.client_secret, form.get("client_secret", "")
        ):
            failed = {
                "error": "invalid_client",
                "error_description": "Client authentication failed",
            }
            return json_reply(401, failed)
        if form.get("scope") != SCOPE:
            return json_reply(400, {"error": "invalid_scope"})
        token = self.tokens.issue(client.client_id, 3600, scope=SCOPE)
        body = {"access_token": token, "expires_in": 3600, "scope": SCOPE, "token_type": "bearer"}
        return json_reply(200, body)

    def _check(self, req: Request, handle: str) -> None:
        if req.method != "POST":
            raise Rejected(405, "MethodNotAllowed")
        if self.tokens.check(req.bearer()) is None:
            raise Rejected(401, "AccessTokenExpired")
        # [U] the reference names these headers but not the answer to a wrong value
        if req.header("x-amzn-type-version") != TYPE_VERSION:
            raise Rejected(400, "InvalidType")
        if "application/json" not in req.header("accept"):
            raise Rejected(400, "InvalidType")
        if not _REGISTRATION.fullmatch(handle):
            raise Rejected(400, "InvalidRegistrationId")
        body = parse_json_object(req.body)
        if body is None or not set(body) <= _FIELDS:
            raise Rejected(400, "InvalidData")
        _check_body(body)

    def _deliver(self, req: Request, handle: str) -> Reply:
        fault, latency = self._state.draw_fault(Sim.ADM, handle)
        if fault is not None:
            self._state.reject(Sim.ADM, handle, f"fault:{fault.value}")
            return self._fault_reply(fault).with_delay(latency)
        state, replacement = self._state.handle_state(Sim.ADM, handle)
        if state is HandleState.DEAD:
            self._state.reject(Sim.ADM, handle, "Unregistered")
            # Amazon answers an uninstalled app with 400 and reason Unregistered (not 410).
            return _error(400, "Unregistered").with_delay(latency)
        if state is HandleState.MISMATCH:
            self._state.reject(Sim.ADM, handle, "InvalidRegistrationId")
            return _error(400, "InvalidRegistrationId").with_delay(latency)
        request_id = str(uuid.uuid4())
        self._state.record(Sim.ADM, handle, req.body, req.headers, request_id)
        current = replacement if state is HandleState.REPLACED else handle
        return json_reply(
            200,
            {"registrationID": current},
            ("x-amzn-requestid", request_id),
            ("x-amzn-accept-type", "com.amazon.device.messaging.ADMSendResult@1.0"),
        ).with_delay(latency)

    def _fault_reply(self, fault: FaultKind) -> Reply:
        spec = self._state.faults(Sim.ADM)
        retry = ("retry-after", str(spec.retry_after))
        if fault is FaultKind.THROTTLE:
            return _error(429, "MaxRateExceeded", retry)
        if fault is FaultKind.ERROR:
            status = spec.error_status or 503
            return _error(status, "InternalServerError" if status == 500 else "Unavailable", retry)
        reply = connection_fault(fault, b"")
        assert reply is not None
        return reply


def _check_body(body: dict[str, Any]) -> None:
    data = body.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise Rejected(400, "InvalidData")
    if len(_canonical(data).encode()) > _MAX_DATA:
        raise Rejected(413, "MessageTooLarge")
    key = body.get("consolidationKey")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 64):
        raise Rejected(400, "InvalidConsolidationKey")
    expires = body.get("expiresAfter")
    if expires is not None and (
        isinstance(expires, bool)
        or not isinstance(expires, int)
        or not 1 <= expires <= _MAX_EXPIRES
    ):
        raise Rejected(400, "InvalidExpiration")
    md5 = body.get("md5")
    if md5 is not None and md5 != checksum(data):
        raise Rejected(400, "InvalidChecksum")


def _canonical(data: dict[str, str]) -> str:
    return ",".join(f"{key}:{data[key]}" for key in sorted(data))


def checksum(data: dict[str, str]) -> str:
    """ADM's ``md5``: base64 MD5 of the pairs sorted by key as ``k:v`` joined by commas. [U]"""
    digest = hashlib.md5(_canonical(data).encode(), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode()


def _error(status: int, reason: str, *headers: tuple[str, str]) -> Reply:
    return json_reply(status, {"reason": reason}, *headers)
