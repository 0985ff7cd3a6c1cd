"""GET /metrics: every hub's totals as Prometheus text (a bearer key, HERALD_PROMETHEUS_KEY)."""

import azure.functions as func

from shared.functions_http import serve
from shared.metrics.api import handle_prometheus


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_prometheus)
