import json

import azure.functions as func


async def main(req: func.HttpRequest, work: func.Out[list[str]]) -> func.HttpResponse:
    numbers = req.get_json()
    work.set([json.dumps({"n": n}) for n in numbers])
    return func.HttpResponse(status_code=202)
