"""What the simulators remember: deliveries, rejections, handle states, faults and tokens.

One :class:`SimState` per simulator process, shared by all seven simulators and the control API.
Everything here is synchronous and in memory; the asyncio loop is the only thread touching it.
"""

from __future__ import annotations

import base64
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from emulator.pns._http import Action, Reply

_SECRET_HEADERS = frozenset({"authorization"})


class Sim(StrEnum):
    APNS = "apns"
    FCM = "fcm"
    WNS = "wns"
    WEBPUSH = "webpush"
    ADM = "adm"
    BAIDU = "baidu"
    XIAOMI = "xiaomi"


class HandleState(StrEnum):
    LIVE = "live"
    DEAD = "dead"  # expired/unregistered: APNs 410, FCM 404, WNS 410, Web Push 410, ADM 400,
    # Baidu 30607, Xiaomi bad_regids
    REPLACED = "replaced"  # ADM: 200 with a different registrationID
    # belongs to another app: APNs DeviceTokenNotForTopic, FCM 403, WNS 403, Baidu 30608
    MISMATCH = "mismatch"


class FaultKind(StrEnum):
    ERROR = "error"  # 5xx
    THROTTLE = "throttle"  # 429 (WNS: 406) with Retry-After
    DROP = "drop"  # connection closed without an answer
    GOAWAY = "goaway"  # HTTP/2 GOAWAY (HTTP/1.1: a drop)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Faults for one simulator. Rates are probabilities per accepted-so-far request.

    ``first_n``: the first N attempts for each handle get ``first_n_kind``, then the rates apply.
    ``seed`` makes the rate draws repeatable.
    """

    error_rate: float = 0.0
    error_status: int | None = None  # None: the simulator's usual 5xx (503, or 500)
    throttle_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    goaway_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    first_n: int = 0
    first_n_kind: FaultKind = FaultKind.ERROR

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultSpec:
        names = {f.name for f in fields(cls)}
        unknown = set(body) - names
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        values = dict(body)
        if "first_n_kind" in values:
            values["first_n_kind"] = FaultKind(values["first_n_kind"])
        spec = cls(**values)
        for rate in (spec.error_rate, spec.throttle_rate, spec.drop_rate, spec.goaway_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError("rates must lie in [0, 1]")
        return spec

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Delivery:
    sim: Sim
    handle: str
    payload: bytes
    headers: Mapping[str, str]  # the request's own headers, shared, not copied
    time: float
    message_id: str

    def to_json(self) -> dict[str, Any]:
        try:
            text: str | None = self.payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return {
            "platform": self.sim.value,
            "handle": self.handle,
            "payload": text,
            "payload_b64": base64.b64encode(self.payload).decode(),
            "headers": {k: v for k, v in self.headers.items() if k not in _SECRET_HEADERS},
            "time": self.time,
            "message_id": self.message_id,
        }


@dataclass
class _Faults:
    spec: FaultSpec = field(default_factory=FaultSpec)
    rng: random.Random = field(default_factory=random.Random)
    attempts: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    subject: str  # who it was issued to (client id / service-account e-mail)
    expires_at: float
    scope: str = ""
    audience: str = ""  # e.g. the FCM project


class TokenStore:
    """Opaque bearer tokens issued by a simulator's token endpoint."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, subject: str, lifetime: float, *, scope: str = "", audience: str = "") -> str:
        token = self._prefix + secrets.token_urlsafe(32)
        self._tokens[token] = IssuedToken(subject, time.time() + lifetime, scope, audience)
        return token

    def check(self, token: str | None) -> IssuedToken | None:
        """The token's grant if it is known and unexpired."""
        issued = self._tokens.get(token or "")
        if issued is None or issued.expires_at <= time.time():
            return None
        return issued

    def expire_all(self) -> None:
        """Make every issued token stale (tests of the re-authentication path)."""
        self._tokens.clear()


class SimState:
    """Records, handle states and faults for all simulators."""

    def __init__(self, max_records: int = 1_000_000) -> None:
        self._max_records = max_records
        self.deliveries: list[Delivery] = []
        self.counts: dict[Sim, Counter[str]] = defaultdict(Counter)
        self.delivered: Counter[Sim] = Counter()  # counts' sums, kept as they grow
        self.rejections: dict[Sim, dict[str, Counter[str]]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self.handles: dict[Sim, dict[str, tuple[HandleState, str]]] = defaultdict(dict)
        self._faults: dict[Sim, _Faults] = defaultdict(_Faults)

    # --- records -------------------------------------------------------------------------
    def record(
        self, sim: Sim, handle: str, payload: bytes, headers: Mapping[str, str], mid: str
    ) -> None:
        self.counts[sim][handle] += 1
        self.delivered[sim] += 1
        if len(self.deliveries) < self._max_records:
            self.deliveries.append(Delivery(sim, handle, payload, headers, time.time(), mid))

    def reject(self, sim: Sim, handle: str, reason: str) -> None:
        self.rejections[sim][handle][reason] += 1

    def reset_records(self, sim: Sim | None = None) -> None:
        sims = [sim] if sim else list(Sim)
        self.deliveries = [d for d in self.deliveries if d.sim not in sims]
        for each in sims:
            self.counts.pop(each, None)
            self.delivered.pop(each, None)
            self.rejections.pop(each, None)
            self._faults[each].attempts.clear()

    # --- handles -------------------------------------------------------------------------
    def mark(self, sim: Sim, handle: str, state: HandleState, extra: str = "") -> None:
        if state is HandleState.LIVE:
            self.handles[sim].pop(handle, None)
            return
        if state is HandleState.DEAD and not extra:
            extra = str(int(time.time() * 1000))  # APNs reports when the token went away
        self.handles[sim][handle] = (state, extra)

    def handle_state(self, sim: Sim, handle: str) -> tuple[HandleState, str]:
        return self.handles[sim].get(handle, (HandleState.LIVE, ""))

    # --- faults --------------------------------------------------------------------------
    def set_faults(self, sim: Sim, spec: FaultSpec) -> None:
        self._faults[sim] = _Faults(spec, random.Random(spec.seed))

    def faults(self, sim: Sim) -> FaultSpec:
        return self._faults[sim].spec

    def draw_fault(self, sim: Sim, handle: str) -> tuple[FaultKind | None, float]:
        """Count one attempt for ``handle`` and pick its fault (or None) and latency (s)."""
        faults = self._faults[sim]
        spec = faults.spec
        faults.attempts[handle] += 1
        latency = spec.latency_ms / 1000.0
        if faults.attempts[handle] <= spec.first_n:
            return spec.first_n_kind, latency
        if not (spec.error_rate or spec.throttle_rate or spec.drop_rate or spec.goaway_rate):
            return None, latency
        draw = faults.rng.random()
        for kind, rate in (
            (FaultKind.DROP, spec.drop_rate),
            (FaultKind.GOAWAY, spec.goaway_rate),
            (FaultKind.ERROR, spec.error_rate),
            (FaultKind.THROTTLE, spec.throttle_rate),
        ):
            if draw < rate:
                return kind, latency
            draw -= rate
        return None, latency


def connection_fault(kind: FaultKind, reason: bytes) -> Reply | None:
    """The reply for a connection-level fault, or None for the kinds a simulator words itself."""
    if kind is FaultKind.DROP:
        return Reply(0, action=Action.DROP)
    if kind is FaultKind.GOAWAY:
        return Reply(0, action=Action.GOAWAY, goaway_reason=reason)
    return None
