"""GET /health: version and storage reachability."""

import azure.functions as func

from shared.functions_http import serve
from shared.health import check_health


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, check_health)
