"""The answer to a request no route takes: NH's 404 error body, naming what was asked for."""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.errors import NotFoundError
from shared.http import HttpAnswer, HttpRequestData

_SHOWN = 200  # characters of the path the error repeats


async def answer_unmatched(request: HttpRequestData) -> HttpAnswer:
    path = urlsplit(request.url).path or "/"
    shown = path if len(path) <= _SHOWN else path[:_SHOWN] + "…"
    raise NotFoundError(f"There is no resource {request.method} {shown}.")
