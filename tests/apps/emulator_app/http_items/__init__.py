import json

import azure.functions as func

from ..common import describe


async def main(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    body = describe(req)
    body["function"] = context.function_name
    return func.HttpResponse(
        json.dumps(body), status_code=200, mimetype="application/json", headers={"x-echo": "1"}
    )
