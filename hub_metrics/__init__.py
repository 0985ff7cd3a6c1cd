"""GET /{hub}/metrics: the hub's counts in minute, hour or day buckets (Manage)."""

import azure.functions as func

from shared.functions_http import serve
from shared.metrics.api import handle_metrics


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_metrics)
