"""One block of an import file applied to the registry, line by line, as the API would.

Each line is a registration description (or an Atom entry holding one), read by the
registrations API's own parser and written by the registry's write loop, so validation, the
device-URL allow-list, the tag index and intent-first writes are the API's. The job's
submitter held Manage, so its lines may set any tag. What each type does with a line:

- Create: a new registration, under an id made from the job and the line number
  (:func:`job_registration_id`); the line's own RegistrationId is ignored, as NH ignores it.
- Update: replaces the registration the line's RegistrationId names; a line naming none that
  exists fails.
- Upsert: creates or replaces the registration the line's RegistrationId names.
- Delete: deletes it; one already gone counts as deleted (deletes are idempotent).

Applying a line again stores what is already stored, which the registry answers as unchanged
without writing: that is what lets a step cut short be run again from its start. Lines of one
registration are applied in file order; other lines run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from shared.auth.sas import AccessRight
from shared.engine import Engine
from shared.errors import BadRequestError, HeraldError, NotFoundError, StorageUnavailableError
from shared.hubs.model import Hub
from shared.jobs.lines import Line, job_registration_id
from shared.jobs.model import JobType
from shared.model.registration import Registration, registration_key, validate_registration_id
from shared.registrations.atom import Element, parse_xml
from shared.registrations.descriptions import description_xml, parse_description
from shared.registry.access import Caller
from shared.registry.writes import delete_device, write_device
from shared.store.installations import InstallationKey, StoredInstallation

LINES_IN_FLIGHT = 32  # registry writes at once within a step
_JOB_CALLER = Caller(rights=frozenset(AccessRight))


@dataclass(frozen=True)
class Applied:
    line: int
    output: str | None  # the Output.txt text for the line; None when it failed
    failure: str | None = None


def _description(text: bytes) -> Element:
    root = parse_xml(text)
    if root.name != "entry":
        return root
    contents = [child for child in root.children if child.name == "content"]
    if len(contents) != 1 or len(contents[0].children) != 1:
        raise BadRequestError("The Atom entry must hold one registration description.")
    return contents[0].children[0]


def _given_id(description: Element, job_type: JobType) -> str:
    for member in description.children:
        if member.name == "RegistrationId" and member.text.strip():
            return validate_registration_id(member.text.strip())
    raise BadRequestError(f"RegistrationId is required for {job_type}.")


def read_line(
    line: Line, *, job_id: str, job_type: JobType, hub: Hub
) -> tuple[str, Registration | None]:
    """The registration id a line acts on, and the registration it stores (None: delete)."""
    if line.too_long:
        raise BadRequestError("The line is too long to be a registration description.")
    description = _description(line.text)
    if job_type is JobType.CREATE:
        registration_id = job_registration_id(job_id, line.number)
    else:
        registration_id = _given_id(description, job_type)
    if job_type is JobType.DELETE:
        return registration_id, None
    registration = parse_description(
        description, registration_id=registration_id, max_tags=hub.max_tags
    )
    return registration_id, registration


def _existing(stored: StoredInstallation | None) -> None:
    if stored is None or stored.registration is None:
        raise NotFoundError("Registration not found.")


async def _apply(
    engine: Engine, hub: Hub, job_type: JobType, registration_id: str, new: Registration | None
) -> str:
    key = InstallationKey.of(hub.name, registration_key(registration_id), hub.shard_count)
    if new is None:
        await delete_device(engine, hub, key, _JOB_CALLER)
        return registration_id

    def change(stored: StoredInstallation | None) -> Registration:
        if job_type is JobType.UPDATE:
            _existing(stored)
        return new

    written = await write_device(engine, hub, key, _JOB_CALLER, change)
    return description_xml(written.document, etag=str(written.version))


async def apply_lines(
    engine: Engine, hub: Hub, job_id: str, job_type: JobType, lines: Sequence[Line]
) -> list[Applied]:
    """Apply ``lines``; answers each line's outcome, in line order. A line that fails says
    why and the others go on; a storage failure ends the step (the queue runs it again)."""
    read: dict[int, tuple[str, Registration | None]] = {}
    outcomes: dict[int, Applied] = {}
    for line in lines:
        try:
            read[line.number] = read_line(line, job_id=job_id, job_type=job_type, hub=hub)
        except HeraldError as error:
            outcomes[line.number] = Applied(line.number, None, error.detail)
    by_id: dict[str, list[int]] = {}
    for number, (registration_id, _) in read.items():
        by_id.setdefault(registration_id, []).append(number)
    slots = asyncio.Semaphore(LINES_IN_FLIGHT)

    async def apply_in_order(numbers: list[int]) -> None:
        async with slots:
            for number in numbers:
                registration_id, new = read[number]
                try:
                    output = await _apply(engine, hub, job_type, registration_id, new)
                except StorageUnavailableError:
                    raise
                except HeraldError as error:
                    outcomes[number] = Applied(number, None, error.detail)
                else:
                    outcomes[number] = Applied(number, output)

    await asyncio.gather(*(apply_in_order(numbers) for numbers in by_id.values()))
    return [outcomes[number] for number in sorted(outcomes)]
