import json

import azure.functions as func


def main(msg: func.QueueMessage, done: func.Out[str]) -> None:
    if msg.dequeue_count < 3:
        raise RuntimeError(f"failing on purpose at attempt {msg.dequeue_count}")
    done.set(json.dumps({"id": msg.get_json()["id"], "dequeue_count": msg.dequeue_count}))
