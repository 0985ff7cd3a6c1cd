"""A job: what was asked (type, files), how far it got (its cursor), and what it reports.

Status goes Started (accepted) → Running (its first step ran) → Completed or Failed, as NH's.
An import's cursor is a byte offset and a line count in the input file, an export's a scan
position in the registry; each step moves it on by one block and records it in the job's row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from shared.store.scan import ScanPosition


class JobType(StrEnum):
    EXPORT = "ExportRegistrations"
    CREATE = "ImportCreateRegistrations"
    UPDATE = "ImportUpdateRegistrations"
    DELETE = "ImportDeleteRegistrations"
    UPSERT = "ImportUpsertRegistrations"

    @property
    def imports(self) -> bool:
        return self is not JobType.EXPORT


class JobStatus(StrEnum):
    STARTED = "Started"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


OUTPUT_FILE = "Output.txt"
FAILED_FILE = "Failed.txt"
# NH's OutputProperties keys (.NET's NotificationHubJob.OutputFileName and FailuresFileName).
OUTPUT_FILE_KEY = "OutputFilePath"
FAILED_FILE_KEY = "FailedFilePath"


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Cursor:
    """Where an import resumes: the byte after the last line handled, how many lines that
    was, and whether it stopped inside a line too long to read (skipped to its end)."""

    offset: int = 0
    line: int = 0
    skipping: bool = False


@dataclass(frozen=True)
class Job:
    hub: str
    job_id: str
    job_type: JobType
    output_container_uri: str  # with its SAS token: a secret, never shown
    import_file_uri: str | None = None  # likewise
    status: JobStatus = JobStatus.STARTED
    failure: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    step: int = 0  # the next step to run
    cursor: Cursor = Cursor()  # imports
    input_size: int | None = None  # imports: the file's size, read by the first step
    position: ScanPosition = field(default_factory=ScanPosition)  # exports
    shard_count: int = 1  # exports: the hub's, for progress
    succeeded: int = 0
    failed: int = 0
    etag: str = ""  # the stored row's, for the next conditional write

    @property
    def progress(self) -> float:
        """Percent done, as NH reports it."""
        if self.status is JobStatus.COMPLETED:
            return 100.0
        if self.job_type.imports:
            if not self.input_size:
                return 0.0
            return min(99.99, 100.0 * self.cursor.offset / self.input_size)
        return min(99.99, 100.0 * self.position.shard / max(1, self.shard_count))

    def file_path(self, name: str) -> str:
        """Where the job writes ``name`` in the output container, as NH names it."""
        return f"{self.hub}/{self.job_id}/{name}"

    @property
    def output_properties(self) -> Mapping[str, str]:
        """NH's OutputProperties: the files, once they exist; and Herald's line counts."""
        if self.status is not JobStatus.COMPLETED:
            return MappingProxyType({})
        return MappingProxyType(
            {
                OUTPUT_FILE_KEY: self.file_path(OUTPUT_FILE),
                FAILED_FILE_KEY: self.file_path(FAILED_FILE),
                "SucceededCount": str(self.succeeded),
                "FailedCount": str(self.failed),
            }
        )

    def failing(self, reason: str) -> Job:
        return replace(self, status=JobStatus.FAILED, failure=reason, updated_at=datetime.now(UTC))
