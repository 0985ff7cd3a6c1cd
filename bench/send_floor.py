"""The floor under a large send's CPU: the leanest walk Table storage allows, beside the sender.

    .venv/bin/python bench/send_floor.py [--devices 50000] [--rounds 3]

bench/sending.py divides the host's CPU per delivery by the bare APNs sender's. This bench
measures, in one process and one run, what any walk over Table storage must spend on top of
the sender before it does anything of Herald's own:

- **sender**: the bare sender, as bench/sending.py's baseline (two loops of 1,000-message
  calls, no storage);
- **pages**: 16 partitions of rows that hold only what every design must read (an id and a
  handle), each walked 1,000 rows a page through Herald's ``TableRows``, four pages at once,
  each page sent in 250-message slices as the host sends them. No tag expression, no delivery
  view, no accounting, no step rows, no queue;
- **steps**: the same pages, each run as the least a resumable, shared walk needs: a queue
  message received and deleted, a claim row and a result row written, the next page's message
  put. No progress records within a page.

Azurite and the PNS simulators run as their own processes, stopped by PID; the three walks run
in turns in this process, under the host's garbage-collector settings, the order turning each
round. CPU is this process's own (``getrusage``), from connecting the sender to closing it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from azure.data.tables.aio import TableServiceClient  # noqa: E402
from pns_process import on_fresh_azurite, simulators  # noqa: E402
from sending import PAYLOAD, apns_sender, device_token, process_cpu, sender_alone  # noqa: E402

from emulator.azurite import Azurite  # noqa: E402
from emulator.queue_rest import Queue, QueueAccount, ReceivedMessage  # noqa: E402
from shared.engine import settle_gc  # noqa: E402
from shared.fanout.steps import SLICE  # noqa: E402
from shared.pns.base import OutcomeKind, PushMessage, Sender  # noqa: E402
from shared.store.index import PAGE_SIZE, key_page  # noqa: E402
from shared.store.rows import TableRows  # noqa: E402
from shared.store.tables import Tables  # noqa: E402

SHARDS = 16
PAGES_AT_ONCE = 4  # the host's default HERALD_PAGES_IN_FLIGHT
RECEIVE = 16  # messages per queue receive, as the host's listener takes them
NEW_BATCH_THRESHOLD = 8  # as the host's trigger: receive again once at most 8 steps run
IDLE_WAIT = 0.2  # seconds an empty receive waits for a step to put the next message


class Walk:
    """Pages of the seeded partitions, sent slice by slice; counts what was delivered."""

    def __init__(self, rows: TableRows, sender: Sender) -> None:
        self.rows, self.sender = rows, sender
        self.slots = asyncio.Semaphore(PAGES_AT_ONCE)
        self.delivered = 0

    async def page(self, shard: int, after: str | None) -> str | None:
        """Send one page after ``after``; the key to go on after, None when the shard is done."""
        async with self.slots:
            rows, exhausted = await key_page(
                self.rows, f"s{shard:02d}", after, PAGE_SIZE, ["RowKey", "H"]
            )
            messages = [PushMessage(row["H"], PAYLOAD) for row in rows]
            for start in range(0, len(messages), SLICE):
                outcomes = await self.sender.send(messages[start : start + SLICE])
                self.delivered += sum(o.kind is OutcomeKind.DELIVERED for o in outcomes)
        return None if exhausted else str(rows[-1]["RowKey"])

    async def pages(self) -> int:
        async def shard_chain(shard: int) -> None:
            after = await self.page(shard, None)
            while after is not None:
                after = await self.page(shard, after)

        await asyncio.gather(*(shard_chain(shard) for shard in range(SHARDS)))
        return self.delivered

    async def steps(self, queue: Queue, step_rows: TableRows) -> int:
        put = asyncio.Event()
        running: set[asyncio.Task[None]] = set()
        failed: list[BaseException] = []
        chains_left = SHARDS

        async def step(message: ReceivedMessage) -> None:
            nonlocal chains_left
            body = json.loads(message.content)
            key = f"{body['shard']:04d}~{body['step']:06d}"
            await step_rows.upsert({"PartitionKey": "send", "RowKey": key, "Owner": message.id})
            after = await self.page(body["shard"], body["after"])
            await step_rows.upsert({"PartitionKey": "send", "RowKey": key, "Done": True})
            if after is None:
                chains_left -= 1
            else:
                await queue.send(json.dumps({**body, "step": body["step"] + 1, "after": after}))
            await queue.delete(message)
            put.set()

        def settled(task: asyncio.Task[None]) -> None:
            running.discard(task)
            if not task.cancelled() and task.exception() is not None:
                failed.append(task.exception())  # type: ignore[arg-type]
                put.set()

        for shard in range(SHARDS):
            await queue.send(json.dumps({"shard": shard, "step": 0, "after": None}))
        while (chains_left or running) and not failed:
            taking = len(running) <= NEW_BATCH_THRESHOLD
            received = await queue.receive(RECEIVE, 300) if taking else []
            for message in received:
                task = asyncio.create_task(step(message))
                running.add(task)
                task.add_done_callback(settled)
            if not received:
                put.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(put.wait(), IDLE_WAIT)
        if failed:
            raise failed[0]
        return self.delivered


async def _seed(service: TableServiceClient, devices: int) -> None:
    await service.create_table_if_not_exists("floorindex")
    table = service.get_table_client("floorindex")
    by_shard: dict[int, list[int]] = {}
    for n in range(devices):
        by_shard.setdefault(n % SHARDS, []).append(n)
    slots = asyncio.Semaphore(8)

    async def batch(shard: int, numbers: list[int]) -> None:
        rows = [
            {"PartitionKey": f"s{shard:02d}", "RowKey": f"d{n:07d}", "H": device_token(n)}
            for n in numbers
        ]
        async with slots:
            await table.submit_transaction([("upsert", row) for row in rows])

    async with table:
        await asyncio.gather(
            *(
                batch(shard, numbers[start : start + 100])
                for shard, numbers in by_shard.items()
                for start in range(0, len(numbers), 100)
            )
        )


async def _bench(args: argparse.Namespace, azurite: Azurite, workdir: Path) -> None:
    settle_gc()
    state_dir = workdir / "pns"
    state_dir.mkdir()
    devices = args.devices
    service = TableServiceClient.from_connection_string(
        azurite.connection_string, use_env_settings=False
    )
    account = QueueAccount(azurite.connection_string, use_env_settings=False)
    started = time.perf_counter()
    await _seed(service, devices)
    print(f"Seeded {devices:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    tables = Tables(service)
    index, step_rows = await tables.rows("floorindex"), await tables.rows("floorsteps")
    figures: dict[str, list[float]] = {"sender": [], "pages": [], "steps": []}
    try:
        with simulators(state_dir) as sims:

            async def walk(name: str, number: int) -> float:
                """CPU ms per 1,000 deliveries, from connecting to closing, as the sender's."""
                queue = account.queue(f"floorsteps{number}")
                if name == "steps":
                    await queue.create()
                sender = apns_sender(sims.endpoints, state_dir)
                cpu = process_cpu()
                try:
                    await sender.send([PushMessage(device_token(0), PAYLOAD)])  # connect
                    walker = Walk(index, sender)
                    if name == "pages":
                        delivered = await walker.pages()
                    else:
                        delivered = await walker.steps(queue, step_rows)
                finally:
                    await sender.aclose()
                if delivered != devices:
                    raise SystemExit(f"the {name} walk delivered {delivered:,} of {devices:,}")
                return (process_cpu() - cpu) / devices * 1e6

            for number in range(args.rounds):
                order = ["sender", "pages", "steps"]
                for name in order[number % 3 :] + order[: number % 3]:
                    if name == "sender":
                        _, cpu = await sender_alone(sims.endpoints, state_dir, devices)
                        figure = cpu * 1e6
                    else:
                        figure = await walk(name, number)
                    figures[name].append(figure)
                    print(f"  round {number + 1}: {name} {figure:.1f} ms per 1,000", flush=True)
    finally:
        await account.close()
        await service.close()
    _report(args, figures)


def _report(args: argparse.Namespace, figures: dict[str, list[float]]) -> None:
    sender = figures["sender"]
    print(
        f"\nCPU per 1,000 deliveries, {args.devices:,} devices, medians of {args.rounds} "
        "round(s); the ratio is the median of each round's walk over its own sender run:"
    )
    print(f"  {'walk':8} {'ms':>6}  {'/ sender':>8}  rounds")
    for name, values in figures.items():
        ratios = [value / base for value, base in zip(values, sender, strict=True)]
        rounds = " / ".join(f"{value:.1f}" for value in values)
        print(
            f"  {name:8} {statistics.median(values):6.1f}  "
            f"{statistics.median(ratios):7.2f}x  {rounds}"
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(on_fresh_azurite(_bench, _arguments()))
