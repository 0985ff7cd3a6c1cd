"""NH's ``NotificationHubJob`` in Atom XML, both ways (sans-IO).

A client submits ``<entry><content><NotificationHubJob>`` with ``Type``,
``OutputContainerUri`` and, for imports, ``ImportFileUri`` (the JS SDK puts both URIs in
CDATA). Herald answers with the members in .NET's ``DataMember`` order (JobId 1001, Progress,
Type, Status, OutputContainerUri, ImportFileUri, InputProperties, Failure, OutputProperties,
CreatedAt, UpdatedAt 1011), leaving out what is unset, as NH does. The URIs are shown without
their SAS tokens. ``OutputProperties`` is a .NET dictionary in the serialization-arrays
namespace under the prefix ``d3p1``, which the JS SDK reads by that exact name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.errors import BadRequestError
from shared.jobs.model import Job, JobType
from shared.registrations.atom import (
    ATOM_NS,
    NH_NS,
    XSI_NS,
    cdata,
    element,
    parse_xml,
    text_element,
    xml_text,
)
from shared.store.jobs import shown_uri

ARRAYS_NS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
_TYPES = ", ".join(t.value for t in JobType)


@dataclass(frozen=True)
class JobRequest:
    job_type: JobType
    output_container_uri: str
    import_file_uri: str | None


def _member(members: dict[str, str], name: str) -> str | None:
    text = members.get(name, "").strip()
    return text or None


def parse_job_request(body: bytes) -> JobRequest:
    """The job an Atom entry submits; a 400 naming what is missing or wrong."""
    entry = parse_xml(body)
    contents = [child for child in entry.children if child.name == "content"]
    if entry.name != "entry" or len(contents) != 1 or len(contents[0].children) != 1:
        raise BadRequestError("The body must be an Atom entry holding one NotificationHubJob.")
    job = contents[0].children[0]
    if job.name != "NotificationHubJob":
        raise BadRequestError(f"<{job.name}> is not a NotificationHubJob.")
    members = {child.name: child.text for child in job.children}
    kind = _member(members, "Type")
    if kind is None:
        raise BadRequestError(f"The job's Type is required: one of {_TYPES}.")
    try:
        job_type = JobType(kind)
    except ValueError:
        raise BadRequestError(f"{kind!r} is not a job type: use one of {_TYPES}.") from None
    output = _member(members, "OutputContainerUri")
    if output is None:
        raise BadRequestError("OutputContainerUri is required: a Blob container's SAS URI.")
    imported = _member(members, "ImportFileUri") if job_type.imports else None
    if job_type.imports and imported is None:
        raise BadRequestError(f"ImportFileUri is required for {job_type}: a blob's SAS URI.")
    return JobRequest(job_type, output, imported)


def job_request_entry(
    job_type: str, output_container_uri: str, import_file_uri: str | None = None
) -> bytes:
    """A job as a client submits it (the JS SDK's shape: the URIs in CDATA)."""
    members = text_element("Type", job_type) + element(
        "OutputContainerUri", cdata(output_container_uri)
    )
    if import_file_uri is not None:
        members += element("ImportFileUri", cdata(import_file_uri))
    return (
        f'<?xml version="1.0" encoding="utf-8"?><entry xmlns="{ATOM_NS}">'
        f'<content type="application/xml"><NotificationHubJob xmlns="{NH_NS}" '
        f'xmlns:i="{XSI_NS}">{members}</NotificationHubJob></content></entry>'
    ).encode()


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _progress(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _dictionary(name: str, values: dict[str, str]) -> str:
    pairs = "".join(
        "<d3p1:KeyValueOfstringstring>"
        f"<d3p1:Key>{xml_text(key)}</d3p1:Key><d3p1:Value>{xml_text(value)}</d3p1:Value>"
        "</d3p1:KeyValueOfstringstring>"
        for key, value in values.items()
    )
    return f'<{name} xmlns:d3p1="{ARRAYS_NS}">{pairs}</{name}>'


def job_xml(job: Job) -> str:
    """The ``NotificationHubJob`` element of ``job``."""
    members = [
        text_element("JobId", job.job_id),
        text_element("Progress", _progress(job.progress)),
        text_element("Type", job.job_type.value),
        text_element("Status", job.status.value),
        element("OutputContainerUri", cdata(shown_uri(job.output_container_uri))),
    ]
    if job.import_file_uri is not None:
        members.append(element("ImportFileUri", cdata(shown_uri(job.import_file_uri))))
    if job.failure:
        members.append(text_element("Failure", job.failure))
    if job.output_properties:
        members.append(_dictionary("OutputProperties", dict(job.output_properties)))
    members += [
        text_element("CreatedAt", _time(job.created_at)),
        text_element("UpdatedAt", _time(job.updated_at)),
    ]
    return (
        f'<NotificationHubJob xmlns="{NH_NS}" xmlns:i="{XSI_NS}">'
        f"{''.join(members)}</NotificationHubJob>"
    )


def read_job_entry(body: bytes) -> dict[str, object]:
    """A job entry as Herald answers it, as JSON (for the admin command): the members by
    name, ``OutputProperties`` as an object."""
    entry = parse_xml(body)
    contents = [child for child in entry.children if child.name == "content"]
    jobs = [child for c in contents for child in c.children if child.name == "NotificationHubJob"]
    if len(jobs) != 1:
        raise BadRequestError("The answer holds no NotificationHubJob.")
    found: dict[str, object] = {}
    for member in jobs[0].children:
        if member.name == "OutputProperties":
            pairs = {}
            for pair in member.children:
                fields = {field.name: field.text for field in pair.children}
                pairs[fields.get("Key", "")] = fields.get("Value", "")
            found[member.name] = pairs
        else:
            found[member.name] = member.text.strip()
    return found
