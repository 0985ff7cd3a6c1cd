"""Jobs benchmark: NH export and import jobs of many registrations, beside Azurite's raw rates.

    .venv/bin/python bench/jobs.py [--registrations 100000] [--million] [--tags 2]

Each size runs on a fresh Azurite (blob, queue and table services) and a fresh host process:

1. ``--registrations`` Apple registrations with ``--tags`` tags each, bulk-seeded into a hub
   (not timed).
2. An ExportRegistrations job, submitted over HTTP and polled to Completed: registrations per
   second. Beside it, in the same run, Azurite's raw rate for the same work: the registry read
   right after the export, as the export reads it (each shard's partition, pages of 1,000,
   every column), and the output written as 1 MiB blocks, timed apart and added up.
3. An ImportCreateRegistrations job of that export's Output.txt into an empty hub:
   registrations per second. Beside it Azurite's raw ceiling: the time of one point read and
   of the writes a new registration costs (its row, one index row per tag, the settle), each
   at Azurite's raw rate for single requests at the import's concurrency (``LINES_IN_FLIGHT``)
   in the installations table as the import left it, plus the file read in 1 MiB ranges.
4. The host's peak RSS (VmHWM) after the export and after the import. With ``--million`` the
   run is repeated with 1,000,000 registrations, and the two sizes' peaks are compared: a job
   holds one step's block at a time, so the peak should not grow with the registry.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from urllib.parse import urlsplit  # noqa: E402

from azure.data.tables import UpdateMode  # noqa: E402
from azure.storage.blob import ContainerSasPermissions, generate_container_sas  # noqa: E402
from azure.storage.blob.aio import BlobServiceClient, ContainerClient  # noqa: E402
from pns_process import cpu_seconds  # noqa: E402

from emulator.azurite import ACCOUNT, ACCOUNT_KEY, Azurite, blob_origin  # noqa: E402
from shared.auth.sas import format_connection_string  # noqa: E402
from shared.client import HeraldClient  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.engine import Engine  # noqa: E402
from shared.hubs.model import FULL_POLICY, Hub  # noqa: E402
from shared.jobs.importing import LINES_IN_FLIGHT  # noqa: E402
from shared.model.channels import InstallationPlatform  # noqa: E402
from shared.model.registration import Registration  # noqa: E402
from shared.store.keys import installation_partition  # noqa: E402
from shared.store.seeding import seed_installations  # noqa: E402
from shared.store.tables import INSTALLATIONS  # noqa: E402
from support.processes import running_host  # noqa: E402
from support.stack import app_env  # noqa: E402

SEED_CHUNK = 20_000
BLOCK = 1 << 20


@dataclass
class Figures:
    size: int
    export_rate: float
    export_raw: float
    import_rate: float
    import_raw: float
    export_rss: float
    import_rss: float
    host_cpu_ms: float  # host CPU per registration, export and import together


async def run_job(
    url: str, hub: Hub, job_type: str, container: str, import_file: str | None = None
) -> tuple[dict[str, object], float]:
    """Submit a job through Herald's API and poll it to its end: the job, and the seconds."""
    policy = hub.policies[FULL_POLICY]
    connection = format_connection_string(
        f"sb://{urlsplit(url).netloc}/", policy.name, policy.primary_key
    )
    started = time.perf_counter()
    async with HeraldClient(connection, hub.name, plain_http=True) as client:
        job = await client.submit_job(job_type, container, import_file)
        while job["Status"] not in ("Completed", "Failed"):
            await asyncio.sleep(0.5)
            job = await client.get_job(str(job["JobId"]))
    assert job["Status"] == "Completed", job
    return job, time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def registration(n: int, tags: int) -> Registration:
    return Registration(
        f"reg{n:08d}",
        InstallationPlatform.APNS,
        f"{n:064X}",
        tags=tuple(sorted(f"t{(n + i) % 50}" for i in range(tags))),
    )


async def seed(engine: Engine, hub: Hub, size: int, tags: int) -> None:
    for start in range(0, size, SEED_CHUNK):
        chunk = [registration(n, tags) for n in range(start, min(size, start + SEED_CHUNK))]
        await seed_installations(engine.tables, hub.name, hub.shard_count, chunk)


def container_uri(container: ContainerClient) -> str:
    sas = generate_container_sas(
        ACCOUNT,
        container.container_name,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=6),
    )
    return f"{container.url}?{sas}"


async def raw_registry_read(engine: Engine, hub: Hub) -> tuple[int, float]:
    """Every row of the hub's registry as the export reads it, shard by shard, one partition
    query each, pages of 1,000, every column: rows and seconds."""
    table = await engine.tables.get(INSTALLATIONS)
    started, rows = time.perf_counter(), 0
    for shard in range(hub.shard_count):
        pages = table.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": installation_partition(hub.name, shard)},
            results_per_page=1000,
        ).by_page()
        async for page in pages:
            rows += len([row async for row in page])
    return rows, time.perf_counter() - started


async def raw_blob(container: ContainerClient, path: str) -> tuple[float, float]:
    """Seconds to read the blob ``path`` in 1 MiB ranges, and to write as much in 1 MiB blocks."""
    blob = container.get_blob_client(path)
    size = (await blob.get_blob_properties()).size
    started = time.perf_counter()
    for offset in range(0, size, BLOCK):
        await (await blob.download_blob(offset=offset, length=min(BLOCK, size - offset))).readall()
    read = time.perf_counter() - started
    scratch = container.get_blob_client(f"scratch/{uuid.uuid4().hex}")
    data = b"x" * BLOCK
    started = time.perf_counter()
    for n in range(0, size, BLOCK):
        await scratch.stage_block(f"{n // BLOCK:08d}", data)
    await scratch.commit_block_list([f"{n // BLOCK:08d}" for n in range(0, size, BLOCK)])
    return read, time.perf_counter() - started


async def raw_requests(engine: Engine, clients: int, total: int) -> tuple[float, float]:
    """Single point reads and single upserts per second, ``clients`` at once, in the
    installations table as the import left it (its size is what Azurite's speed depends on),
    under partitions of a hub of their own, of rows the size of a registration's."""
    table = await engine.tables.get(INSTALLATIONS)
    keys = [(f"rawjobs~{n % 16}", f"r{n}") for n in range(total)]

    async def timed(call: Callable[[str, str], Awaitable[object]]) -> float:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for key in keys:
            queue.put_nowait(key)

        async def worker() -> None:
            while not queue.empty():
                await call(*queue.get_nowait())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return total / (time.perf_counter() - started)

    async def upsert(partition: str, row: str) -> object:
        entity = {"PartitionKey": partition, "RowKey": row, "Doc": b"x" * 400}
        return await table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    upserts = await timed(upsert)
    reads = await timed(table.get_entity)
    return reads, upserts


async def run_size(size: int, tags: int) -> Figures:
    azurite = await Azurite.start(REPO)
    storage = azurite.connection_string
    engine = Engine.build(Settings.from_env(app_env(storage)))
    blobs = BlobServiceClient.from_connection_string(storage)
    try:
        source = await engine.hubs.create_hub(Hub.new("jobsource"))
        target = await engine.hubs.create_hub(Hub.new("jobtarget"))
        started = time.perf_counter()
        await seed(engine, source, size, tags)
        print(f"  seeded {size:,} registrations in {time.perf_counter() - started:.0f} s")
        container = blobs.get_container_client("bench")
        await container.create_container()
        uri = container_uri(container)
        env = app_env(storage, HERALD_JOB_ALLOWED_TEST_HOSTS=blob_origin(storage))
        with running_host(REPO, env) as host:
            cpu = cpu_seconds(host.pid)
            exported, export_seconds = await run_job(host.url, source, "ExportRegistrations", uri)
            export_rss = peak_rss_mib(host.pid)
            rows, read_seconds = await raw_registry_read(engine, source)  # as the export found it
            output = str(dict(exported["OutputProperties"])["OutputFilePath"])  # type: ignore[call-overload]
            input_uri = f"{container.url}/{output}?{uri.split('?', 1)[1]}"
            imported, import_seconds = await run_job(
                host.url, target, "ImportCreateRegistrations", uri, input_uri
            )
            import_rss = peak_rss_mib(host.pid)
            host_cpu = (cpu_seconds(host.pid) - cpu) * 1000 / (2 * size)
            counts = dict(imported["OutputProperties"])  # type: ignore[call-overload]
            assert counts["SucceededCount"] == str(size), counts
        blob_read, blob_write = await raw_blob(container, output)
        reads, upserts = await raw_requests(engine, LINES_IN_FLIGHT, min(size, 20_000))
        writes = tags + 2  # the registration's row, its index rows, the settle; and one read
        import_raw = 1 / (1 / reads + writes / upserts + blob_read / size)
        return Figures(
            size=size,
            export_rate=size / export_seconds,
            export_raw=rows / (read_seconds + blob_write),
            import_rate=size / import_seconds,
            import_raw=import_raw,
            export_rss=export_rss,
            import_rss=import_rss,
            host_cpu_ms=host_cpu,
        )
    finally:
        await blobs.close()
        await engine.aclose()
        azurite.stop()


def report(figures: Figures) -> None:
    share = figures.export_rate / figures.export_raw
    print(
        f"  export: {figures.export_rate:7,.0f} registrations/s; Azurite raw (read the registry, "
        f"write the blob) {figures.export_raw:7,.0f}/s ({share:.0%})"
    )
    print(
        f"  import: {figures.import_rate:7,.0f} registrations/s; Azurite raw ceiling (a read and "
        f"the writes, the blob read) {figures.import_raw:7,.0f}/s "
        f"({figures.import_rate / figures.import_raw:.0%})"
    )
    print(
        f"  host peak RSS: {figures.export_rss:.0f} MiB after the export, "
        f"{figures.import_rss:.0f} MiB after the import; host CPU "
        f"{figures.host_cpu_ms:.2f} ms per registration moved"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also 1,000,000, and compare")
    parser.add_argument("--tags", type=int, default=2)
    args = parser.parse_args()
    sizes = [args.registrations] + ([1_000_000] if args.million else [])
    results = []
    for size in sizes:
        print(f"\n{size:,} registrations, {args.tags} tags each:")
        results.append(await run_size(size, args.tags))
        report(results[-1])
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"\nPeak RSS, {large.size:,} against {small.size:,}: "
            f"{large.import_rss / small.import_rss - 1:+.0%} (flat within 20 % is the aim)"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
