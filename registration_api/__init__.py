"""POST|GET /{hub}/registrations; PUT|GET|DELETE /{hub}/registrations/{registrationId}."""

import azure.functions as func

from shared.functions_http import serve
from shared.registrations.api import handle_registrations


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_registrations)
