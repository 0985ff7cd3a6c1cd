"""``import`` and ``export``: the registry (installations and registrations) in and out as JSON
lines, over Herald's HTTP API; or, with ``--job``, as an NH job that Herald runs itself
between the registry and a Blob container.

Both show a progress bar with the rate on standard error and end with counts on standard
output. An import sends several installations at once, counts each as created, updated,
unchanged (Herald says which) or failed, names every failure with its line, and goes on past
bad lines; it stops only when Herald cannot be reached at all. A job is submitted, then polled
until it completes or fails, its progress (NH's percentage) shown as it goes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from shared.cli.connect import explain
from shared.client import HeraldClient, HeraldClientError
from shared.errors import HeraldError

IMPORT_CONCURRENCY = 16  # PUTs in flight: a local stack's Azurite is the bound past ~8
FAILURES_SHOWN = 20
_IDS = ("installationId", "registrationId")


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


@contextmanager
def _progress(what: str, total: int | None) -> Iterator[tuple[Progress, Any]]:
    columns: list[ProgressColumn | str] = [TextColumn(what), BarColumn(), MofNCompleteColumn()]
    if total is None:
        columns = [TextColumn(what), TextColumn("{task.completed:,}")]
    columns += [_Rate(), TimeElapsedColumn()]
    if total is not None:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield progress, progress.add_task(what, total=total)


@dataclass
class _Failure:
    line: int
    document_id: str | None
    reason: str

    def __str__(self) -> str:
        named = f", {self.document_id!r}" if self.document_id else ""
        return f"line {self.line}{named}: {self.reason}"


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[_Failure] = field(default_factory=list)

    def fail(self, failure: _Failure) -> None:
        self.counts["failed"] += 1
        self.failures.append(failure)


def _parse(line_number: int, text: str) -> dict[str, Any] | _Failure:
    try:
        document = json.loads(text)
    except ValueError as error:
        return _Failure(line_number, None, f"not JSON ({error})")
    if not isinstance(document, dict) or not any(
        isinstance(document.get(key), str) for key in _IDS
    ):
        return _Failure(line_number, None, "neither an installationId nor a registrationId")
    return document


async def import_lines(client: HeraldClient, source: Path) -> tuple[dict[str, Any], bool]:
    """Put every installation of ``source``; answers the summary and whether all went in."""
    text = await asyncio.to_thread(source.read_text)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    tally = _Tally()
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in lines:
        queue.put_nowait(item)
    started = time.monotonic()
    with _progress("importing", len(lines)) as (progress, task):

        async def worker() -> None:
            while not queue.empty():
                number, text = queue.get_nowait()
                parsed = _parse(number, text)
                if isinstance(parsed, _Failure):
                    tally.fail(parsed)
                else:
                    named = next(str(parsed[key]) for key in _IDS if key in parsed)
                    try:
                        tally.counts[await client.put_document(parsed)] += 1
                    except HeraldClientError as error:
                        reason = explain(error, client.url) or str(error)
                        tally.fail(_Failure(number, named, reason))
                    except HeraldError as error:  # refused before it was sent
                        tally.fail(_Failure(number, named, error.detail))
                progress.advance(task)

        await asyncio.gather(*(worker() for _ in range(IMPORT_CONCURRENCY)))
    _report_failures(tally.failures)
    summary: dict[str, Any] = {
        name: tally.counts[name] for name in ("created", "updated", "unchanged", "failed")
    }
    seconds = time.monotonic() - started
    summary |= {"from": str(source), "seconds": round(seconds, 1)}
    return summary, not tally.failures


def _report_failures(failures: list[_Failure]) -> None:
    for failure in sorted(failures, key=lambda f: f.line)[:FAILURES_SHOWN]:
        print(f"failed: {failure}", file=sys.stderr)
    if len(failures) > FAILURES_SHOWN:
        print(f"… and {len(failures) - FAILURES_SHOWN} more failures", file=sys.stderr)


async def export_lines(client: HeraldClient, target: Path) -> dict[str, Any]:
    """Write every installation of the hub to ``target``, one JSON line each."""
    count = 0
    started = time.monotonic()
    with _progress("exporting", None) as (progress, task), target.open("w") as out:
        async for line in client.export_lines():
            out.write(line + "\n")
            count += 1
            progress.advance(task)
    return {"exported": count, "to": str(target), "seconds": round(time.monotonic() - started, 1)}


JOB_POLL_SECONDS = 1.0


async def run_job(
    client: HeraldClient,
    job_type: str,
    output_container_uri: str,
    import_file_uri: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Submit an NH job and poll it to its end; answers its summary and whether it completed."""
    started = time.monotonic()
    job = await client.submit_job(job_type, output_container_uri, import_file_uri)
    columns = [TextColumn(job_type), BarColumn(), TaskProgressColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(job_type, total=100)
        while job.get("Status") not in ("Completed", "Failed"):
            await asyncio.sleep(JOB_POLL_SECONDS)
            job = await client.get_job(str(job["JobId"]))
            progress.update(task, completed=float(str(job.get("Progress") or 0)))
    properties = job.get("OutputProperties")
    files = properties if isinstance(properties, dict) else {}
    summary: dict[str, Any] = {
        "jobId": job["JobId"],
        "type": job_type,
        "status": job["Status"],
        "outputFile": files.get("OutputFilePath"),
        "failedFile": files.get("FailedFilePath"),
        "succeeded": int(files.get("SucceededCount", 0)),
        "failed": int(files.get("FailedCount", 0)),
        "seconds": round(time.monotonic() - started, 1),
    }
    if job.get("Failure"):
        summary["failure"] = job["Failure"]
    return summary, job["Status"] == "Completed"
