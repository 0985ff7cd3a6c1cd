"""POST /{hub}/messages (+ $batch, ?test); GET /{hub}/messages/{notificationId}."""

import azure.functions as func

from shared.functions_http import serve
from shared.http import HttpAnswer, HttpRequestData, not_implemented


async def _messages(_: HttpRequestData) -> HttpAnswer:
    return not_implemented("Sending")


async def main(req: func.HttpRequest, fanout: func.Out[str]) -> func.HttpResponse:
    return await serve(req, _messages)
