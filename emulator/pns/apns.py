"""APNs provider API simulator (``POST /3/device/<token>`` over HTTP/2).

Checks in the order the reference lists them: method and path, duplicate headers, provider
authentication (ES256 JWT, or a TLS client certificate), topic and push type, the ``apns-*``
headers, payload size, token format; then injected faults and handle state. Success is a
HEADERS frame with END_STREAM and ``apns-id``; errors are ``{"reason": ...}`` JSON.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from typing import Any

from emulator.pns import _jwt
from emulator.pns._http import Connection, Rejected, Reply, Request, json_reply
from emulator.pns.state import FaultKind, HandleState, Sim, SimState, connection_fault

_PREFIX = "/3/device/"
_TOKEN_MAX_AGE = 3600  # "APNs rejects any request whose token ... is more than one hour old"
_TOKEN_MIN_REFRESH = 1200  # "Refresh your token no more than once every 20 minutes"
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TOPIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]*")
# push type -> the suffix its topic carries (None: any topic, as for mdm)
_SUFFIX: dict[str, str | None] = {
    "alert": "",
    "background": "",
    "voip": ".voip",
    "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider",
    "liveactivity": ".push-type.liveactivity",
    "location": ".location-query",
    "mdm": None,
    "pushtotalk": ".voip-ptt",
    "widgets": ".push-type.widgets",
    "controls": ".push-type.controls",
}
_SPECIAL_SUFFIXES = tuple(s for s in _SUFFIX.values() if s)
_CERT_SUFFIXES = ("", ".voip", ".complication")  # what one app certificate covers


@dataclass(frozen=True, slots=True)
class ApnsKey:
    key_id: str
    team_id: str
    public_key: _jwt.PublicKey
    topics: frozenset[str] = frozenset()  # bundle ids the key may push to; empty = any


@dataclass(frozen=True, slots=True)
class _Auth:
    """What the request's credentials allow: a certificate's exact topics, or a key's bundles."""

    cert_topics: tuple[str, ...] | None = None
    key_topics: frozenset[str] = frozenset()  # empty: any bundle id


class ApnsSimulator:
    def __init__(self, state: SimState) -> None:
        self._state = state
        self.keys: dict[str, ApnsKey] = {}
        self._verified: dict[str, tuple[ApnsKey, float]] = {}  # token -> (key, iat)

    def register_key(self, key: ApnsKey) -> None:
        self.keys[key.key_id] = key
        self._verified.clear()

    def __call__(self, req: Request) -> Reply:
        apns_id = req.headers.get("apns-id") or _new_apns_id()
        raw_token = req.path[len(_PREFIX) :] if req.path.startswith(_PREFIX) else ""
        handle = raw_token.lower()
        try:
            auth = self._check(req, raw_token)
            payload_limit = self._check_headers(req, auth)
            self._check_body(req.body, payload_limit)
            if not _HEX.fullmatch(raw_token) or len(raw_token) < 64 or len(raw_token) % 2:
                raise Rejected(400, "BadDeviceToken")
        except Rejected as exc:
            self._state.reject(Sim.APNS, handle, exc.reason)
            return _error(exc.status, exc.reason, apns_id)
        return self._deliver(req, handle, apns_id)

    def _deliver(self, req: Request, handle: str, apns_id: str) -> Reply:
        fault, latency = self._state.draw_fault(Sim.APNS, handle)
        if fault is not None:
            self._state.reject(Sim.APNS, handle, f"fault:{fault.value}")
            return self._fault_reply(fault, apns_id).with_delay(latency)
        state, extra = self._state.handle_state(Sim.APNS, handle)
        if state is HandleState.DEAD:
            self._state.reject(Sim.APNS, handle, "Unregistered")
            return _error(410, "Unregistered", apns_id, timestamp=int(extra)).with_delay(latency)
        if state is HandleState.MISMATCH:
            self._state.reject(Sim.APNS, handle, "DeviceTokenNotForTopic")
            return _error(400, "DeviceTokenNotForTopic", apns_id).with_delay(latency)
        self._state.record(Sim.APNS, handle, req.body, req.headers, apns_id)
        return Reply(200, (("apns-id", apns_id),), delay=latency)

    def _fault_reply(self, fault: FaultKind, apns_id: str) -> Reply:
        spec = self._state.faults(Sim.APNS)
        if fault is FaultKind.THROTTLE:
            return _error(429, "TooManyRequests", apns_id, retry_after=spec.retry_after)
        if fault is FaultKind.ERROR:
            status = spec.error_status or 503
            reason = "InternalServerError" if status == 500 else "ServiceUnavailable"
            return _error(status, reason, apns_id)
        reply = connection_fault(fault, b'{"reason":"Shutdown"}')
        assert reply is not None
        return reply

    # --- checks ------------------------------------------------------------------------------
    def _check(self, req: Request, raw_token: str) -> _Auth:
        """Method, path, duplicates and provider authentication."""
        if req.method != "POST":
            raise Rejected(405, "MethodNotAllowed")
        if not req.path.startswith(_PREFIX) or "/" in raw_token:
            raise Rejected(404, "BadPath")
        if not raw_token:
            raise Rejected(400, "MissingDeviceToken")
        if req.duplicate_headers:
            raise Rejected(400, "DuplicateHeaders")
        auth = req.headers.get("authorization")
        if auth is not None:
            return _Auth(key_topics=self._check_jwt(auth, req.conn).topics)
        uid = _cert_uid(req.conn.peer_cert)
        if uid is None:
            raise Rejected(403, "MissingProviderToken")
        return _Auth(cert_topics=tuple(uid + suffix for suffix in _CERT_SUFFIXES))

    def _check_jwt(self, auth: str, conn: Connection) -> ApnsKey:
        """The key that signed the provider token, after the token and rate checks."""
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Rejected(403, "InvalidProviderToken")
        now = time.time()
        current: tuple[str, float, ApnsKey | None] = conn.state.get("apns_jwt", ("", 0.0, None))
        last_token, last_iat, last_key = current
        if last_key is not None and token == last_token and now - last_iat <= _TOKEN_MAX_AGE:
            return last_key  # the connection's current token, checked already
        key, iat = self._verify(token)
        if iat > now + 60:
            raise Rejected(403, "InvalidProviderToken")
        if now - iat > _TOKEN_MAX_AGE:
            raise Rejected(403, "ExpiredProviderToken")
        first: ApnsKey | None = conn.state.setdefault("apns_key", key)
        if first is not None and first.key_id != key.key_id and first.team_id != key.team_id:
            raise Rejected(403, "UnrelatedKeyIdInToken")
        if last_token and token != last_token and iat - last_iat < _TOKEN_MIN_REFRESH:
            raise Rejected(429, "TooManyProviderTokenUpdates")
        conn.state["apns_jwt"] = (token, iat, key)
        return key

    def _verify(self, token: str) -> tuple[ApnsKey, float]:
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        header = _jwt.header(token)
        key = self.keys.get(str(header.get("kid"))) if header else None
        if header is None or key is None or header.get("alg") != "ES256":
            raise Rejected(403, "InvalidProviderToken")
        claims = _jwt.verified_claims(token, key.public_key, "ES256")
        iat = _jwt.number(claims.get("iat")) if claims else None
        if claims is None or iat is None or claims.get("iss") != key.team_id:
            raise Rejected(403, "InvalidProviderToken")
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified[token] = (key, iat)
        return key, iat

    def _check_headers(self, req: Request, auth: _Auth) -> int:
        """Topic, push type and the other apns-* headers; the payload limit that applies."""
        cert_topics = auth.cert_topics
        topic = req.headers.get("apns-topic") or (cert_topics[0] if cert_topics else "")
        if not topic:
            raise Rejected(400, "MissingTopic")
        if not _TOPIC.fullmatch(topic):
            raise Rejected(400, "BadTopic")
        push_type = req.headers.get("apns-push-type") or _implied_push_type(topic)
        suffix = _SUFFIX.get(push_type, "")
        if push_type not in _SUFFIX:
            raise Rejected(400, "InvalidPushType")
        if suffix is not None and not _topic_fits(topic, suffix):
            raise Rejected(400, "BadTopic")  # [U] Apple's exact reason is not documented
        base = topic[: len(topic) - len(suffix)] if suffix else topic
        if (cert_topics is not None and topic not in cert_topics) or (
            auth.key_topics and base not in auth.key_topics
        ):
            raise Rejected(400, "TopicDisallowed")
        _check_apns_headers(req.headers, push_type)
        return 5120 if push_type == "voip" else 4096

    def _check_body(self, body: bytes, limit: int) -> None:
        if not body:
            raise Rejected(400, "PayloadEmpty")
        if len(body) > limit:
            raise Rejected(413, "PayloadTooLarge")


def _check_apns_headers(headers: dict[str, str], push_type: str) -> None:
    apns_id = headers.get("apns-id")
    if apns_id is not None and not _UUID.fullmatch(apns_id.lower()):
        raise Rejected(400, "BadMessageId")
    priority = headers.get("apns-priority", "10")
    if priority not in ("1", "5", "10") or (push_type == "background" and priority == "10"):
        raise Rejected(400, "BadPriority")
    expiration = headers.get("apns-expiration", "0")
    if not expiration.isdigit():
        raise Rejected(400, "BadExpirationDate")
    if len(headers.get("apns-collapse-id", "").encode()) > 64:
        raise Rejected(400, "BadCollapseId")


def _new_apns_id() -> str:
    text = f"{random.getrandbits(128):032x}"  # uuid4-shaped; uuid.uuid4() costs more
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


def _implied_push_type(topic: str) -> str:
    for push_type, suffix in _SUFFIX.items():
        if suffix and topic.endswith(suffix):
            return push_type
    return "alert"


def _topic_fits(topic: str, suffix: str) -> bool:
    if suffix:
        return topic.endswith(suffix) and len(topic) > len(suffix)
    return not topic.endswith(_SPECIAL_SUFFIXES)


def _cert_uid(cert: dict[str, Any] | None) -> str | None:
    for rdn in (cert or {}).get("subject", ()):
        for name, value in rdn:
            if name == "userId":
                return str(value)
    return None


def _error(
    status: int, reason: str, apns_id: str, *, timestamp: int | None = None, retry_after: int = 0
) -> Reply:
    body: dict[str, object] = {"reason": reason}
    if timestamp is not None:
        body["timestamp"] = timestamp
    headers = [("apns-id", apns_id)]
    if retry_after:
        headers.append(("retry-after", str(retry_after)))
    return json_reply(status, body, *headers)
