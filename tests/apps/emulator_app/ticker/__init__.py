import json
import os

import azure.functions as func


async def main(timer: func.TimerRequest, ticks: func.Out[str]) -> None:
    status = timer.schedule_status
    ticks.set(json.dumps({"past_due": timer.past_due, "pid": os.getpid(), "next": status["Next"]}))
