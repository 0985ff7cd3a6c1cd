"""POST|GET /{hub}/jobs; GET /{hub}/jobs/{jobId}: NH's import and export jobs."""

from typing import List  # noqa: UP035 (see Messages below)

import azure.functions as func

from shared.functions_http import serve_enqueuing
from shared.jobs.api import handle_jobs

# Azure's worker accepts typing.List in output annotations but refuses list[str].
Messages = List[str]  # noqa: UP006


async def main(req: func.HttpRequest, steps: func.Out[Messages]) -> func.HttpResponse:
    return await serve_enqueuing(req, steps, handle_jobs)
