"""Queue `fanout`: plan a send, then scan its targets page by page into delivery batches."""

import azure.functions as func


async def main(msg: func.QueueMessage) -> None:
    raise NotImplementedError("fan-out is not available in this version")
