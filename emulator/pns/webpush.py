"""Web Push simulator (RFC 8030 ``POST /push/<id>``, RFC 8292 VAPID, RFC 8291 decryption).

Subscriptions are made through the control API; the simulator keeps each one's private key,
decrypts every accepted message and records the plaintext. Error bodies are Apple-style
``{"reason": ...}`` JSON.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from emulator.pns import _jwt
from emulator.pns._ece import EceError, decrypt, public_bytes
from emulator.pns._http import Rejected, Reply, Request, json_reply
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, connection_fault

PUSH_PREFIX = "/push/"
_MAX_BODY = 4096
_MAX_EXP_AHEAD = 86400 + 60  # "MUST NOT be more than 24 hours" plus clock skew
_TOPIC = re.compile(r"[A-Za-z0-9_\-]{1,32}")
_URGENCY = frozenset({"very-low", "low", "normal", "high"})


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None  # b64url VAPID public key fixed at subscribe time


class WebPushSimulator:
    def __init__(self, state: SimState, origin: str = "") -> None:
        self._state = state
        self.origin = origin
        self.subscriptions: dict[str, Subscription] = {}

    def subscribe(self, application_server_key: str | None = None) -> dict[str, str]:
        """A new subscription as a browser would report it: endpoint, p256dh and auth."""
        sub = Subscription(
            secrets.token_urlsafe(24),
            ec.generate_private_key(ec.SECP256R1()),
            secrets.token_bytes(16),
            application_server_key,
        )
        self.subscriptions[sub.id] = sub
        return {
            "id": sub.id,
            "endpoint": f"{self.origin}{PUSH_PREFIX}{sub.id}",
            "p256dh": _jwt.b64url_encode(public_bytes(sub.private_key.public_key())),
            "auth": _jwt.b64url_encode(sub.auth),
        }

    def __call__(self, req: Request) -> Reply:
        sub_id = req.path.removeprefix(PUSH_PREFIX) if req.path.startswith(PUSH_PREFIX) else ""
        try:
            plaintext = self._check(req, sub_id)
        except Rejected as exc:
            self._state.reject(Sim.WEBPUSH, sub_id, exc.reason)
            return _error(exc.status, exc.reason)
        return self._deliver(req, sub_id, plaintext)

    def _check(self, req: Request, sub_id: str) -> bytes:
        if req.method != "POST":
            raise Rejected(405, "MethodNotAllowed")
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            raise Rejected(404, "BadPath")
        self._check_vapid(req, sub)
        ttl = req.headers.get("ttl", "")
        if not ttl.isdigit():
            raise Rejected(400, "BadTtl")
        if req.headers.get("urgency", "normal") not in _URGENCY:
            raise Rejected(400, "BadUrgency")
        if "topic" in req.headers and not _TOPIC.fullmatch(req.headers["topic"]):
            raise Rejected(400, "BadWebPushTopic")
        if len(req.body) > _MAX_BODY:
            raise Rejected(413, "PayloadTooLarge")
        if not req.body:
            return b""
        if req.header("content-encoding").strip().lower() != "aes128gcm":
            raise Rejected(400, "BadWebPushRequest")
        try:
            return decrypt(req.body, sub.private_key, sub.auth)
        except EceError as exc:
            raise Rejected(400, "BadWebPushRequest") from exc

    def _check_vapid(self, req: Request, sub: Subscription) -> None:
        params = _vapid_params(req.header("authorization"))
        token, key_text = params.get("t", ""), params.get("k", "")
        if not token or not key_text:
            raise Rejected(401, "BadAuthorizationHeader")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), _jwt.b64url_decode(key_text)
            )
        except ValueError as exc:
            raise Rejected(403, "BadVapidPublicKey") from exc
        if sub.application_server_key and key_text.rstrip("=") != sub.application_server_key:
            raise Rejected(403, "VapidPkHashMismatch")
        claims = _jwt.verified_claims(token, key, "ES256")
        if claims is None:
            raise Rejected(403, "BadJwtToken")
        exp = _jwt.number(claims.get("exp"))
        audiences = {self.origin, f"https://{req.header('host')}"}
        sub_claim = claims.get("sub")
        if (
            claims.get("aud") not in audiences
            or exp is None
            or not time.time() < exp <= time.time() + _MAX_EXP_AHEAD
            or not isinstance(sub_claim, str)
            or not sub_claim.startswith(("mailto:", "https:"))
        ):
            raise Rejected(403, "BadJwtToken")

    def _deliver(self, req: Request, sub_id: str, plaintext: bytes) -> Reply:
        fault, latency = self._state.draw_fault(Sim.WEBPUSH, sub_id)
        if fault is not None:
            self._state.reject(Sim.WEBPUSH, sub_id, f"fault:{fault.value}")
            return self._fault_reply(fault).with_delay(latency)
        state, _ = self._state.handle_state(Sim.WEBPUSH, sub_id)
        if state is not HandleState.LIVE:
            self._state.reject(Sim.WEBPUSH, sub_id, "Unregistered")
            return _error(410, "Unregistered").with_delay(latency)
        msg_id = secrets.token_urlsafe(12)
        self._state.record(Sim.WEBPUSH, sub_id, plaintext, req.headers, msg_id)
        location = ("location", f"{self.origin}/m/{msg_id}")
        return Reply(201, (location, ("ttl", req.headers["ttl"])), delay=latency)

    def _fault_reply(self, fault: FaultKind) -> Reply:
        spec = self._state.faults(Sim.WEBPUSH)
        retry = ("retry-after", str(spec.retry_after))
        if fault is FaultKind.THROTTLE:
            return _error(429, "TooManyRequests", retry)
        if fault is FaultKind.ERROR:
            status = spec.error_status or 503
            reason = "InternalServerError" if status == 500 else "ServiceUnavailable"
            return _error(status, reason, retry)
        reply = connection_fault(fault, b"")
        assert reply is not None
        return reply


def _vapid_params(header: str) -> dict[str, str]:
    """``vapid t=<jwt>, k=<key>`` (whitespace after the comma optional) as {"t":…, "k":…}."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "vapid":
        return {}
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        params[name.strip().lower()] = value.strip()
    return params


def _error(status: int, reason: str, *headers: tuple[str, str]) -> Reply:
    return json_reply(status, {"reason": reason}, *headers)
