"""NotificationHubJob as clients submit it and as NH answers it; and the container URIs a job
may name, by the PNS senders' SSRF guard."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.errors import BadRequestError
from shared.jobs.container import check_container_uri, check_file_uri
from shared.jobs.model import Job, JobStatus, JobType
from shared.jobs.wire import ARRAYS_NS, job_xml, parse_job_request
from shared.registrations.atom import NH_NS

SAS = "sv=2025-11-05&sr=c&sp=rwl&sig=abc%3D"
CONTAINER = f"https://acct.blob.core.windows.net/jobs?{SAS}"
FILE = f"https://acct.blob.core.windows.net/jobs/in/file.txt?{SAS}"
MOMENT = datetime(2026, 12, 6, 1, 48, 49, 987448, tzinfo=UTC)


def _js_sdk_entry(members: str) -> bytes:
    """As the JS SDK's serializeNotificationHubJobEntry writes a job."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<entry xmlns="http://www.w3.org/2005/Atom"><updated>2026-12-06T00:00:00.000Z</updated>'
        f'<content type="application/xml"><NotificationHubJob xmlns="{NH_NS}" '
        f'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">{members}</NotificationHubJob>'
        "</content></entry>"
    ).encode()


def test_a_submitted_job_is_read_with_its_uris_in_cdata() -> None:
    asked = parse_job_request(
        _js_sdk_entry(
            "<Type>ImportUpsertRegistrations</Type>"
            f"<OutputContainerUri><![CDATA[{CONTAINER}]]></OutputContainerUri>"
            f"<ImportFileUri><![CDATA[{FILE}]]></ImportFileUri>"
        )
    )
    assert asked.job_type is JobType.UPSERT
    assert asked.output_container_uri == CONTAINER
    assert asked.import_file_uri == FILE


def test_an_export_ignores_an_import_file() -> None:
    asked = parse_job_request(
        _js_sdk_entry(
            "<Type>ExportRegistrations</Type>"
            f"<OutputContainerUri>{CONTAINER.replace('&', '&amp;')}</OutputContainerUri>"
            f"<ImportFileUri><![CDATA[{FILE}]]></ImportFileUri>"
        )
    )
    assert (asked.job_type, asked.import_file_uri) == (JobType.EXPORT, None)


@pytest.mark.parametrize(
    ("members", "says"),
    [
        (f"<OutputContainerUri><![CDATA[{CONTAINER}]]></OutputContainerUri>", "Type is required"),
        ("<Type>Export</Type>", "is not a job type"),
        ("<Type>ExportRegistrations</Type>", "OutputContainerUri is required"),
        (
            f"<Type>ImportDeleteRegistrations</Type><OutputContainerUri><![CDATA[{CONTAINER}]]>"
            "</OutputContainerUri>",
            "ImportFileUri is required for ImportDeleteRegistrations",
        ),
    ],
)
def test_a_malformed_job_is_refused_saying_what_is_wrong(members: str, says: str) -> None:
    with pytest.raises(BadRequestError, match=says):
        parse_job_request(_js_sdk_entry(members))


def test_the_answer_lists_members_in_dotnet_order_without_sas_tokens() -> None:
    job = Job(
        hub="hub",
        job_id="0" * 32,
        job_type=JobType.CREATE,
        output_container_uri=CONTAINER,
        import_file_uri=FILE,
        status=JobStatus.COMPLETED,
        created_at=MOMENT,
        updated_at=MOMENT,
        succeeded=3,
        failed=1,
    )
    root = ET.fromstring(job_xml(job))
    names = [child.tag.removeprefix(f"{{{NH_NS}}}") for child in root]
    assert names == [
        "JobId", "Progress", "Type", "Status", "OutputContainerUri", "ImportFileUri",
        "OutputProperties", "CreatedAt", "UpdatedAt",
    ]  # fmt: skip
    text = {name: root.findtext(f"{{{NH_NS}}}{name}") for name in names}
    assert text["Progress"] == "100"
    assert text["OutputContainerUri"] == "https://acct.blob.core.windows.net/jobs"
    assert text["ImportFileUri"] == "https://acct.blob.core.windows.net/jobs/in/file.txt"
    assert text["CreatedAt"] == "2026-12-06T01:48:49.987448Z"
    pairs = root.find(f"{{{NH_NS}}}OutputProperties")
    assert pairs is not None
    found = {
        pair.findtext(f"{{{ARRAYS_NS}}}Key"): pair.findtext(f"{{{ARRAYS_NS}}}Value")
        for pair in pairs
    }
    assert found["OutputFilePath"] == f"hub/{'0' * 32}/Output.txt"
    assert found["FailedFilePath"] == f"hub/{'0' * 32}/Failed.txt"
    assert "d3p1:KeyValueOfstringstring" in job_xml(job)  # the JS SDK reads this exact name


def test_a_failed_job_says_why_and_lists_no_files() -> None:
    job = Job("hub", "1" * 32, JobType.EXPORT, CONTAINER).failing("The container is gone.")
    root = ET.fromstring(job_xml(job))
    assert root.findtext(f"{{{NH_NS}}}Failure") == "The container is gone."
    assert root.find(f"{{{NH_NS}}}OutputProperties") is None
    assert root.findtext(f"{{{NH_NS}}}Status") == "Failed"


def test_progress_follows_the_cursor() -> None:
    job = Job("hub", "1" * 32, JobType.CREATE, CONTAINER, FILE, status=JobStatus.RUNNING)
    assert replace(job, input_size=400).progress == 0.0
    running = replace(job, input_size=400, cursor=replace(job.cursor, offset=100))
    assert running.progress == 25.0


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("https://acct.blob.core.windows.net/jobs", "carries no SAS token"),
        ("http://acct.blob.core.windows.net/jobs?sig=x", "must use https"),
        ("https://169.254.169.254/jobs?sig=x", "not an IP address"),
        ("https://2130706433/jobs?sig=x", "not an IP address"),
        ("https://acct.blob.core.windows.net:8443/jobs?sig=x", "default https port"),
        ("https://user@acct.blob.core.windows.net/jobs?sig=x", "user information"),
        ("https://blob.core.windows.net.evil.com/jobs?sig=x", "not a known Azure Storage"),
        ("https://acct.table.core.windows.net/jobs?sig=x", "not a known Azure Storage"),
        ("https://acct.blob.core.windows.net/?sig=x", "must name a Blob container"),
        ("https://acct.blob.core.windows.net/jobs/a.txt?sig=x", "must name a Blob container"),
    ],
)
def test_container_uris_herald_may_not_call_are_refused(uri: str, says: str) -> None:
    with pytest.raises(BadRequestError, match=says):
        check_container_uri(uri, allowed_test_hosts=())


def test_azure_hosts_and_listed_emulators_are_allowed() -> None:
    assert check_container_uri(CONTAINER, allowed_test_hosts=()) == CONTAINER
    assert check_file_uri(FILE, allowed_test_hosts=()) == FILE
    china = "https://a.blob.core.chinacloudapi.cn/c?sig=x"
    assert check_container_uri(china, allowed_test_hosts=()) == china
    azurite = "http://127.0.0.1:10000/devstoreaccount1/jobs?sig=x"
    assert check_container_uri(azurite, allowed_test_hosts=("127.0.0.1:10000",)) == azurite
    with pytest.raises(BadRequestError, match="must use https"):
        check_container_uri(azurite, allowed_test_hosts=())
    with pytest.raises(BadRequestError, match="must name a blob"):
        check_file_uri(CONTAINER, allowed_test_hosts=())
