"""Plain HTTP request and answer values, so request handling never depends on the host."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# RFC 9110 5.5 field-value, less obs-text: visible ASCII, space and tab. No PNS takes more.
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 5.1 token


def is_field_name(text: str) -> bool:
    """An HTTP header name (an RFC 9110 token)."""
    return bool(_FIELD_NAME.fullmatch(text))


def is_field_value(text: str) -> bool:
    """An HTTP header value every HTTP library and PNS accepts: visible ASCII, SP and HTAB."""
    return bool(_FIELD_VALUE.fullmatch(text))


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
