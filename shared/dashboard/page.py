"""``GET /dashboard``: the hub dashboard, a static page and its script and style sheet.

The page holds nothing secret, so no key is needed to load it: it signs its own API calls in
the browser with the Manage connection string the user pastes (SAS, HMAC-SHA256 in
WebCrypto), and calls the hub's routes on this same origin. It loads nothing from anywhere
else (the Content-Security-Policy says so), so it works with no internet. One route, one
path segment, so it never shadows a ``{hub}/…`` route: ``?asset=`` picks the file.
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from shared.errors import NotFoundError
from shared.http import HttpAnswer, HttpRequestData

STATIC = Path(__file__).resolve().parent / "static"
_ASSETS = {
    "": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "charts.js": ("charts.js", "text/javascript; charset=utf-8"),
    "style.css": ("style.css", "text/css; charset=utf-8"),
}
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


async def serve_dashboard(request: HttpRequestData) -> HttpAnswer:
    found = _ASSETS.get(request.query.get("asset", ""))
    if found is None:
        raise NotFoundError("The dashboard has no such asset.")
    name, media_type = found
    body = await asyncio.to_thread(_read, name)
    headers = {
        "Content-Type": media_type,
        "Content-Security-Policy": _POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return HttpAnswer(200, body, headers)
