import json

import azure.functions as func


async def main(msg: func.QueueMessage, done: func.Out[str]) -> None:
    body = msg.get_json()
    if body.get("fail"):
        raise ValueError("this message always fails")
    done.set(json.dumps({"id": body["id"], "dequeue_count": msg.dequeue_count}))
