"""The one bridge between azure.functions HTTP types and Herald's request handlers.

Every HTTP function folder calls :func:`serve`. A :class:`HeraldError` becomes an NH-format
error answer; anything else is logged with its traceback and answered 500, and since every
handler validates before it writes, nothing partial has been written.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import azure.functions as func

from shared.errors import HeraldError
from shared.http import HttpAnswer, HttpRequestData
from shared.nh_wire import error_answer

log = logging.getLogger(__name__)

Handler = Callable[[HttpRequestData], Awaitable[HttpAnswer]]


def request_data(req: func.HttpRequest) -> HttpRequestData:
    return HttpRequestData(
        method=req.method.upper(),
        url=req.url,
        headers={k.lower(): v for k, v in req.headers.items()},
        query=dict(req.params),
        route=dict(req.route_params),
        body=req.get_body() or b"",
    )


async def serve(req: func.HttpRequest, handler: Handler) -> func.HttpResponse:
    try:
        answer = await handler(request_data(req))
    except HeraldError as error:
        answer = error_answer(error)
    except Exception:
        log.exception("Unhandled error serving %s %s", req.method, req.url)
        answer = error_answer(HeraldError("The server hit an internal error"))
    return func.HttpResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))
