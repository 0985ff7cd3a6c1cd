"""Shared by the test functions through a relative import, as on Azure."""

from typing import Any

import azure.functions as func


def describe(req: func.HttpRequest) -> dict[str, Any]:
    return {
        "method": req.method,
        "route": dict(req.route_params),
        "query": dict(req.params),
        "body": req.get_body().decode(),
    }
