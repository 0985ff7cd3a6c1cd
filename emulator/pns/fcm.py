"""FCM HTTP v1 simulator: the OAuth JWT-bearer token endpoint and ``messages:send``.

Serves both HTTP/2 and HTTP/1.1 (the adapter picks by ALPN). Errors are google.rpc JSON with an
FcmError detail where the real service sends one.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from emulator.pns import _jwt
from emulator.pns._fcm_schema import SchemaError, message_size, validate_message
from emulator.pns._http import Reply, Request, json_reply, parse_json_object
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, TokenStore, connection_fault

TOKEN_PATH = "/token"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/firebase.messaging",
        "https://www.googleapis.com/auth/cloud-platform",
    }
)
_SEND = re.compile(r"/v1/projects/([^/]+)/messages:send")
_FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]{20,4096}")
_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    client_email: str
    project_id: str
    public_key: _jwt.PublicKey
    private_key_id: str = ""


class FcmSimulator:
    def __init__(self, state: SimState, token_uri: str = "") -> None:
        self._state = state
        self.token_uri = token_uri
        self.accounts: dict[str, ServiceAccount] = {}
        self.tokens = TokenStore("ya29.sim-")
        self._ids = itertools.count(int(time.time() * 1000))

    def __call__(self, req: Request) -> Reply:
        if req.path == TOKEN_PATH:
            return self._token(req)
        match = _SEND.fullmatch(req.path)
        if match is None:
            return _rpc_error(404, "NOT_FOUND", "Requested entity was not found.")
        if req.method != "POST":
            return _rpc_error(405, "INVALID_ARGUMENT", "Method not allowed.")
        return self._send(req, match.group(1))

    # --- OAuth 2.0 token endpoint ------------------------------------------------------------
    def _token(self, req: Request) -> Reply:
        form = req.form() if req.method == "POST" else {}
        if form.get("grant_type") != _JWT_BEARER:
            return _oauth_error("unsupported_grant_type", "Invalid grant_type.")
        assertion = form.get("assertion", "")
        claims = _jwt.unverified_claims(assertion)
        account = self.accounts.get(str(claims.get("iss"))) if claims else None
        if account is None or _jwt.verified_claims(assertion, account.public_key, "RS256") is None:
            return _oauth_error("invalid_grant", "Invalid JWT Signature.")
        assert claims is not None
        problem = self._claims_problem(claims)
        if problem:
            return _oauth_error("invalid_grant", problem)
        scope = str(claims.get("scope", ""))
        token = self.tokens.issue(
            account.client_email, 3600, scope=scope, audience=account.project_id
        )
        return json_reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _claims_problem(self, claims: dict[str, Any]) -> str:
        now = time.time()
        iat, exp = _jwt.number(claims.get("iat")), _jwt.number(claims.get("exp"))
        # google-auth always sends Google's own token URI as aud, whatever token_uri says.
        if claims.get("aud") not in {GOOGLE_TOKEN_URI, self.token_uri}:
            return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
        if iat is None or exp is None or exp <= now or iat > now + 300 or exp - iat > 3600:
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."  # noqa: E501
        if not claims.get("scope"):
            return "Invalid OAuth scope or ID token audience provided."
        return ""

    # --- messages:send -----------------------------------------------------------------------
    def _send(self, req: Request, project: str) -> Reply:
        grant = self.tokens.check(req.bearer())
        if grant is None:
            self._state.reject(Sim.FCM, "", "UNAUTHENTICATED")
            return _rpc_error(401, "UNAUTHENTICATED", _UNAUTHENTICATED)
        if grant.audience != project:
            self._state.reject(Sim.FCM, "", "PERMISSION_DENIED")
            return _rpc_error(
                403,
                "PERMISSION_DENIED",
                "Permission 'cloudmessaging.messages.create' denied on resource "
                "(or it may not exist).",
            )
        if not _SCOPES & set(grant.scope.split()):
            self._state.reject(Sim.FCM, "", "PERMISSION_DENIED")
            return _rpc_error(
                403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."
            )
        body = parse_json_object(req.body)
        if body is None:
            self._state.reject(Sim.FCM, "", "INVALID_ARGUMENT")
            return _rpc_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        try:
            message, validate_only = validate_message(body)
        except SchemaError as exc:
            self._state.reject(Sim.FCM, "", "INVALID_ARGUMENT")
            return _invalid_argument(str(exc), exc.field)
        handle = str(message.get("token") or f"/topics/{message.get('topic') or ''}")
        if "condition" in message:
            handle = f"condition:{message['condition']}"
        return self._deliver(req, project, message, handle, validate_only)

    def _deliver(
        self, req: Request, project: str, message: dict[str, Any], handle: str, dry: bool
    ) -> Reply:
        limit = 4096 if "token" in message else 2048  # "2048 bytes ... messages to topics"
        if message_size(message) > limit:
            self._state.reject(Sim.FCM, handle, "INVALID_ARGUMENT")
            return _invalid_argument("Message is too big", "message")
        if "token" in message and not _FCM_TOKEN.fullmatch(handle):
            self._state.reject(Sim.FCM, handle, "INVALID_ARGUMENT")
            return _invalid_argument(
                "The registration token is not a valid FCM registration token", "message.token"
            )
        fault, latency = self._state.draw_fault(Sim.FCM, handle)
        if fault is not None:
            self._state.reject(Sim.FCM, handle, f"fault:{fault.value}")
            return self._fault_reply(fault).with_delay(latency)
        state, _ = self._state.handle_state(Sim.FCM, handle)
        if state is HandleState.DEAD:
            self._state.reject(Sim.FCM, handle, "UNREGISTERED")
            return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        if state is HandleState.MISMATCH:
            self._state.reject(Sim.FCM, handle, "SENDER_ID_MISMATCH")
            return _fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH")
        if dry:
            return json_reply(200, {"name": f"projects/{project}/messages/fake_message_id"})
        name = f"projects/{project}/messages/0:{next(self._ids)}%sim"
        payload = json.dumps(message, separators=(",", ":")).encode()
        self._state.record(Sim.FCM, handle, payload, req.headers, name)
        return json_reply(200, {"name": name}).with_delay(latency)

    def _fault_reply(self, fault: FaultKind) -> Reply:
        spec = self._state.faults(Sim.FCM)
        retry = ("retry-after", str(spec.retry_after))
        if fault is FaultKind.THROTTLE:
            text = "Quota exceeded for quota metric 'Send messages'."
            return _fcm_error(429, "RESOURCE_EXHAUSTED", text, "QUOTA_EXCEEDED", retry)
        if fault is FaultKind.ERROR:
            if (spec.error_status or 503) == 500:
                return _fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")
            text = "The service is currently unavailable."
            return _fcm_error(503, "UNAVAILABLE", text, "UNAVAILABLE", retry)
        reply = connection_fault(fault, b"server_shutting_down")
        assert reply is not None
        return reply


def _rpc_error(
    status: int, code: str, message: str, *headers: tuple[str, str], details: object = None
) -> Reply:
    error: dict[str, object] = {"code": status, "message": message, "status": code}
    if details is not None:
        error["details"] = details
    return json_reply(status, {"error": error}, *headers)


def _fcm_error(
    status: int, code: str, message: str, error_code: str, *headers: tuple[str, str]
) -> Reply:
    details = [{"@type": _FCM_ERROR, "errorCode": error_code}]
    return _rpc_error(status, code, message, *headers, details=details)


def _invalid_argument(message: str, field: str) -> Reply:
    details = [
        {"@type": _FCM_ERROR, "errorCode": "INVALID_ARGUMENT"},
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}],
        },
    ]
    return _rpc_error(400, "INVALID_ARGUMENT", message, details=details)


def _oauth_error(error: str, description: str) -> Reply:
    return json_reply(400, {"error": error, "error_description": description})
