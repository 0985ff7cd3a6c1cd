"""Jobs in table storage: one row per job, in the job's own partition ``{hub}~{job id}``.

The row holds the job's state and its cursor; every step rewrites it conditionally on the
ETag it read, so of two copies of one step only one records its progress. The container and
file URIs carry the user's SAS tokens: they are sealed with the hub secrets' key, and only
their address (without the query) is kept in clear, for the API to show.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import EdmType, EntityProperty, UpdateMode

from shared.errors import ConfigurationError, NotFoundError
from shared.hubs.secrets import SecretBox
from shared.jobs.model import Cursor, Job, JobStatus, JobType
from shared.store.installations import LostRace
from shared.store.keys import hub_range
from shared.store.scan import ScanPosition
from shared.store.tables import JOBS, Tables

ROW = "job"


def shown_uri(uri: str) -> str:
    """The address of ``uri`` without its query (the SAS token) or fragment."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _partition(hub: str, job_id: str) -> str:
    return f"{hub}~{job_id}"


def _int64(value: int) -> EntityProperty:
    return EntityProperty(value, EdmType.INT64)


def _number(value: Any) -> int:
    return int(getattr(value, "value", value))  # Int64 reads back as EntityProperty


class JobStore:
    def __init__(self, tables: Tables, box: SecretBox | None) -> None:
        self._tables = tables
        self._box = box

    def _sealer(self) -> SecretBox:
        if self._box is None:
            raise ConfigurationError("HERALD_SECRET_KEY is not set: jobs cannot be stored.")
        return self._box

    def _entity(self, job: Job) -> dict[str, Any]:
        uris = {"output": job.output_container_uri, "import": job.import_file_uri}
        position = job.position
        return {
            "PartitionKey": _partition(job.hub, job.job_id),
            "RowKey": ROW,
            "Type": job.job_type.value,
            "Status": job.status.value,
            "Failure": job.failure or "",
            "Uris": self._sealer().seal(uris, context=f"{job.hub}/{job.job_id}"),
            "OutputContainer": shown_uri(job.output_container_uri),
            "CreatedAt": job.created_at,
            "UpdatedAt": job.updated_at,
            "Step": job.step,
            "Offset": _int64(job.cursor.offset),
            "Line": _int64(job.cursor.line),
            "Skipping": job.cursor.skipping,
            "InputSize": _int64(-1 if job.input_size is None else job.input_size),
            "Position": json.dumps({"s": position.shard, "c": position.continuation}),
            "ShardCount": job.shard_count,
            "Succeeded": _int64(job.succeeded),
            "Failed": _int64(job.failed),
        }

    def _job(self, entity: Mapping[str, Any]) -> Job:
        hub, _, job_id = str(entity["PartitionKey"]).rpartition("~")
        uris = self._sealer().open(bytes(entity["Uris"]), context=f"{hub}/{job_id}")
        position = json.loads(str(entity["Position"]))
        size = _number(entity["InputSize"])
        return Job(
            hub=hub,
            job_id=job_id,
            job_type=JobType(str(entity["Type"])),
            output_container_uri=str(uris["output"]),
            import_file_uri=uris.get("import"),
            status=JobStatus(str(entity["Status"])),
            failure=str(entity.get("Failure") or "") or None,
            created_at=entity["CreatedAt"],
            updated_at=entity["UpdatedAt"],
            step=int(entity["Step"]),
            cursor=Cursor(
                _number(entity["Offset"]), _number(entity["Line"]), bool(entity["Skipping"])
            ),
            input_size=None if size < 0 else size,
            position=ScanPosition(int(position["s"]), position["c"]),
            shard_count=int(entity["ShardCount"]),
            succeeded=_number(entity["Succeeded"]),
            failed=_number(entity["Failed"]),
            etag=str(entity.metadata["etag"]),  # type: ignore[attr-defined]
        )

    async def create_job(self, job: Job) -> Job:
        table = await self._tables.get(JOBS)
        try:
            metadata = await table.create_entity(self._entity(job))
        except ResourceExistsError as taken:
            raise LostRace from taken
        return replace(job, etag=str(metadata["etag"]))

    async def find_job(self, hub: str, job_id: str) -> Job | None:
        table = await self._tables.get(JOBS)
        try:
            entity = await table.get_entity(_partition(hub, job_id), ROW)
        except ResourceNotFoundError:
            return None
        return self._job(entity)

    async def get_job(self, hub: str, job_id: str) -> Job:
        """The job; :class:`NotFoundError` if the hub has none of that id."""
        job = await self.find_job(hub, job_id)
        if job is None:
            raise NotFoundError(f"The hub {hub!r} has no job {job_id!r}.")
        return job

    async def list_jobs(self, hub: str) -> list[Job]:
        """Every job of ``hub``, oldest first."""
        table = await self._tables.get(JOBS)
        low, high = hub_range(hub)
        rows = table.query_entities(
            "PartitionKey ge @low and PartitionKey lt @high and RowKey eq @row",
            parameters={"low": low, "high": high, "row": ROW},
        )
        jobs = [self._job(row) async for row in rows]
        return sorted(jobs, key=lambda job: job.created_at)

    async def replace_job(self, job: Job) -> Job:
        """Store ``job`` over the row it was read from; LostRace if another writer moved it."""
        table = await self._tables.get(JOBS)
        try:
            metadata = await table.update_entity(
                self._entity(job),
                mode=UpdateMode.REPLACE,
                etag=job.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as lost:
            raise LostRace from lost
        return replace(job, etag=str(metadata["etag"]))
