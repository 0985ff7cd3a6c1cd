"""The one bridge between azure.functions HTTP types and Herald's request handlers.

Every HTTP function folder calls :func:`serve`. A :class:`HeraldError` becomes an NH-format
error answer; anything else is logged with its traceback and answered 500, and since every
handler validates before it writes, nothing partial has been written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import azure.functions as func

from shared.errors import HeraldError
from shared.http import HttpAnswer, HttpRequestData
from shared.nh_wire import error_answer, tracking_headers, tracking_id_for

log = logging.getLogger(__name__)
_SURROGATE = re.compile("[\ud800-\udfff]")

Handler = Callable[[HttpRequestData], Awaitable[HttpAnswer]]
# A handler whose answer comes with queue messages for the function's output binding.
EnqueuingHandler = Callable[[HttpRequestData], Awaitable[tuple[HttpAnswer, list[str]]]]


def request_data(req: func.HttpRequest) -> HttpRequestData:
    return HttpRequestData(
        method=req.method.upper(),
        url=req.url,
        headers={_whole(k).lower(): _whole(v) for k, v in req.headers.items()},
        query={_whole(k): _whole(v) for k, v in req.params.items()},
        route={k: _whole(v) for k, v in req.route_params.items()},
        body=req.get_body() or b"",
    )


def _whole(text: str) -> str:
    """The text with any lone surrogate replaced: a host may hand over a header's undecodable
    bytes as surrogates (Python's surrogateescape), and nothing can encode those again."""
    return _SURROGATE.sub("\ufffd", text)


async def serve(req: func.HttpRequest, handler: Handler) -> func.HttpResponse:
    async def without_messages(request: HttpRequestData) -> tuple[HttpAnswer, list[str]]:
        return await handler(request), []

    return await serve_enqueuing(req, None, without_messages)


async def serve_enqueuing(
    req: func.HttpRequest, out: func.Out[list[str]] | None, handler: EnqueuingHandler
) -> func.HttpResponse:
    """As :func:`serve`; the messages go to ``out`` only when the answer is a success.

    Every answer carries NH's ``TrackingId`` (the client's own, when it sent a sane one).
    """
    data = request_data(req)
    tracking = tracking_id_for(data.headers)
    messages: list[str] = []
    try:
        answer, messages = await handler(data)
    except HeraldError as error:
        if error.status >= 500:
            log.error("Serving %s %s failed: %s", req.method, req.url, error.detail)
        answer = error_answer(error, tracking_id=tracking)
    except Exception:
        log.exception("Unhandled error serving %s %s", req.method, req.url)
        answer = error_answer(HeraldError("The server hit an internal error"), tracking_id=tracking)
    if out is not None and messages and answer.status < 300:
        out.set(messages)
    headers = {**tracking_headers(tracking), **answer.headers}
    return func.HttpResponse(answer.body, status_code=answer.status, headers=headers)
