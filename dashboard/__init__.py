"""GET /dashboard: the hub dashboard page (and, with ?asset=, its script and style sheet)."""

import azure.functions as func

from shared.dashboard.page import serve_dashboard
from shared.functions_http import serve


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, serve_dashboard)
