"""PUT|PATCH|GET|DELETE /{hub}/installations/{installationId}; GET /{hub}/installations."""

import azure.functions as func

from shared.functions_http import serve
from shared.http import HttpAnswer, HttpRequestData, not_implemented


async def _installations(_: HttpRequestData) -> HttpAnswer:
    return not_implemented("The installations API")


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, _installations)
