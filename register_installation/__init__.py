"""PUT|PATCH|GET|DELETE /{hub}/installations/{installationId}; GET /{hub}/installations."""

import azure.functions as func

from shared.functions_http import serve
from shared.registry.api import handle_installations


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_installations)
