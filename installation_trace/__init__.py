"""GET /{hub}/installations/{installationId}/trace: why notifications did or did not arrive."""

import azure.functions as func

from shared.functions_http import serve
from shared.trace.api import handle_trace


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_trace)
