"""Plain HTTP request and answer values, so request handling never depends on the host."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpRequestData:
    method: str
    url: str
    headers: Mapping[str, str]  # keys lower-case
    query: Mapping[str, str]
    route: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, value: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> HttpAnswer:
        body = json.dumps(value, separators=(",", ":")).encode()
        content = {"Content-Type": "application/json; charset=utf-8"}
        return cls(status, body, {**content, **(headers or {})})
