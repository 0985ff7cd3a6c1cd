import json
import os

import azure.functions as func


async def main(msg: func.QueueMessage, done: func.Out[str]) -> None:
    body = msg.get_json()
    done.set(json.dumps({"n": body["n"], "pid": os.getpid(), "dequeue_count": msg.dequeue_count}))
