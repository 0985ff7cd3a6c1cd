"""The host's own request limits, and the answers it gives before any function runs.

The limits are the Functions host's: a 100 MB body (Kestrel's MaxRequestBodySize as the host
sets it), a 4,096-byte URL (the documented HTTP trigger limit), and Kestrel's defaults of 100
headers and 32 KB of them. Over a limit the answer is 413, 414 or 431, and a request that is not
valid HTTP is a 400.

The real host answers these with its own bodies (empty from Kestrel, HTML or empty from IIS and
the front ends). This host answers them, and everything else it refuses before a function
runs, in the XML error shape that NH clients read,
``<Error><Code>414</Code><Detail>….TrackingId:…,TimeStamp:…</Detail></Error>``, so that a
client of the app sees one error format locally (docs/decisions.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

MAX_URL_BYTES = 4096
MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 32 * 1024
MAX_BODY_BYTES = 100 * 1024 * 1024

_ERROR_CONTENT_TYPE = "application/xml; charset=utf-8"
_TOO_MANY_HEADERS = "Too many headers received"  # aiohttp's BadHttpMessage text


def error_response(status: int, detail: str) -> web.Response:
    """``<Error><Code/><Detail/></Error>``; the connection closes after it."""
    tracking = str(uuid.uuid4())
    now = datetime.now(UTC)
    stamp = f"{now.month}/{now.day}/{now.year} {now.hour % 12 or 12}:{now:%M:%S %p}"
    text = f"{detail.rstrip('.')}.TrackingId:{tracking},TimeStamp:{stamp}"
    body = f"<Error><Code>{status}</Code><Detail>{escape(text)}</Detail></Error>"
    response = web.Response(
        status=status,
        body=body.encode(),
        headers={"Content-Type": _ERROR_CONTENT_TYPE, "TrackingId": tracking},
    )
    response.force_close()
    return response


def header_problem(request: web.BaseRequest) -> web.Response | None:
    """431 when the headers together pass the limit (the parser caps each one and their count)."""
    size = sum(len(name) + len(value) for name, value in request.raw_headers)
    if size > MAX_HEADER_BYTES:
        return error_response(431, f"The request headers are larger than {MAX_HEADER_BYTES} bytes.")
    return None


async def read_body(request: web.BaseRequest) -> bytes | None:
    """The whole body, or None when it is larger than the host takes."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def body_too_large() -> web.Response:
    return error_response(413, f"The request body is larger than {MAX_BODY_BYTES} bytes.")


def _refusal(exc: BaseException | None, status: int) -> tuple[int, str]:
    """The status and detail for a request the HTTP parser refused."""
    if isinstance(exc, LineTooLong) and exc.args[1:2] == (MAX_URL_BYTES,):
        return 414, f"The request URL is longer than {MAX_URL_BYTES} bytes."
    if isinstance(exc, LineTooLong):
        return 431, f"A request header is larger than {MAX_HEADER_BYTES} bytes."
    if isinstance(exc, BadHttpMessage) and exc.message == _TOO_MANY_HEADERS:
        return 431, f"The request has more than {MAX_HEADER_COUNT} headers."
    if status < 500:
        return status, "The request is not valid HTTP."
    return status, "The host hit an internal error."


class _RequestHandler(web.RequestHandler):
    """aiohttp's connection handler, with its plain-text error answers in the XML shape."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; raises if a reply began
        return error_response(*_refusal(exc, status))


class LimitedServer(web.Server):
    """A low-level aiohttp server that parses with the host's limits and answers in XML."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__(
            handler,
            max_line_size=MAX_URL_BYTES,
            max_field_size=MAX_HEADER_BYTES,
            max_headers=MAX_HEADER_COUNT,
            **kwargs,
        )

    def __call__(self) -> web.RequestHandler:
        # What web.Server.__call__ does, with the handler class that answers in XML.
        return _RequestHandler(self, loop=self._loop, **self._kwargs)
