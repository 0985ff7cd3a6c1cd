"""POST /{hub}/registrationIDs (any case): a new registration id in Location."""

import azure.functions as func

from shared.functions_http import serve
from shared.registrations.api import handle_registration_ids


async def main(req: func.HttpRequest) -> func.HttpResponse:
    return await serve(req, handle_registration_ids)
