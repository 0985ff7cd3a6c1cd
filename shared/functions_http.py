"""The one bridge between azure.functions HTTP types and Herald's request handlers.

Every HTTP function folder calls :func:`serve`. A :class:`HeraldError` becomes an NH-format
error answer; anything else is logged with its traceback and answered 500, and since every
handler validates before it writes, nothing partial has been written.

Each answer is logged with its real status: a success at DEBUG (an import is thousands of
them), a refusal (4xx) at INFO with NH's error text, a failure (5xx) at ERROR. An error answer
counts in its hub's metrics when the hub is one this process has read: a name a caller made up
gets no metrics rows.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import azure.functions as func

from shared.engine import current_engine
from shared.errors import HeraldError
from shared.http import HttpAnswer, HttpRequestData
from shared.metrics.otel import span
from shared.metrics.series import error_key
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
    started = time.perf_counter()
    data = request_data(req)
    tracking = tracking_id_for(data.headers)
    messages: list[str] = []
    path = urlsplit(data.url).path  # never the query: it may carry a SAS token
    detail = ""
    try:
        with span("herald.http", method=data.method, path=path):
            answer, messages = await handler(data)
    except HeraldError as error:
        answer, detail = error_answer(error, tracking_id=tracking), error.detail
    except Exception:
        log.exception("Unhandled error serving %s %s", data.method, path)
        internal = HeraldError("The server hit an internal error")
        answer, detail = error_answer(internal, tracking_id=tracking), internal.detail
    _log_answer(data.method, path, answer.status, detail, time.perf_counter() - started)
    if answer.status >= 400:
        _count_error(data.route.get("hub"), answer.status)
    if out is not None and messages and answer.status < 300:
        out.set(messages)
    headers = {**tracking_headers(tracking), **answer.headers}
    return func.HttpResponse(answer.body, status_code=answer.status, headers=headers)


def _count_error(hub: str | None, status: int) -> None:
    engine = current_engine()
    if hub and engine is not None and engine.hubs.was_read(hub):
        engine.metrics.count(hub, error_key(status))


def _log_answer(method: str, path: str, status: int, detail: str, seconds: float) -> None:
    level = logging.ERROR if status >= 500 else logging.INFO if status >= 400 else logging.DEBUG
    said = f": {detail}" if detail else ""
    log.log(level, "%s %s answered %d in %.0f ms%s", method, path, status, seconds * 1000, said)
