"""GET /openapi.yaml: the description of every route Herald serves."""

import azure.functions as func

from shared.api_description import describe_api
from shared.functions_http import serve


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, describe_api)
