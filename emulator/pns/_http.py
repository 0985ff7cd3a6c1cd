"""Transport-neutral request and reply values shared by the HTTP/2 and HTTP/1.1 adapters.

Every simulator is a plain callable ``Request -> Reply``: it never touches a socket, so the same
logic serves HTTP/2 (APNs, FCM) and HTTP/1.1 (FCM, WNS, Web Push, ADM, Baidu, Xiaomi, token
endpoints).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs


class Action(StrEnum):
    """What the adapter does instead of (or after) answering."""

    REPLY = "reply"
    DROP = "drop"  # close the connection without an answer
    GOAWAY = "goaway"  # HTTP/2: GOAWAY then close; HTTP/1.1: same as DROP


@dataclass
class Connection:
    """Per-connection facts and state a simulator may keep (APNs token binding, cert auth)."""

    peer_cert: dict[str, Any] | None = None  # a verified TLS client certificate, if any
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; the last value wins
    body: bytes
    conn: Connection
    duplicate_headers: frozenset[str] = frozenset()

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    def form(self) -> dict[str, str]:
        """The body as application/x-www-form-urlencoded, first value of each key."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def query_params(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.query).items()}

    def bearer(self) -> str | None:
        scheme, _, token = self.header("authorization").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (latency fault)
    action: Action = Action.REPLY
    goaway_reason: bytes = b""  # debug data for GOAWAY

    def with_delay(self, delay: float) -> Reply:
        if not delay:
            return self
        return Reply(self.status, self.headers, self.body, delay, self.action, self.goaway_reason)


Handler = Callable[[Request], Reply]


class Rejected(Exception):
    """A request a simulator refuses: the status, the service's reason text, extra headers."""

    def __init__(self, status: int, reason: str, *headers: tuple[str, str]) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


def json_reply(status: int, body: object, *headers: tuple[str, str]) -> Reply:
    data = json.dumps(body, separators=(",", ":")).encode()
    return Reply(status, (("content-type", "application/json"), *headers), data)


def text_reply(status: int, text: str, *headers: tuple[str, str]) -> Reply:
    return Reply(status, (("content-type", "text/plain; charset=utf-8"), *headers), text.encode())


def parse_json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
