"""NH's jobs API through the host, with the user's container in Azurite's blob service: the
wire, the files as NH names and writes them, each import type, bad lines and bad URIs, rights,
and a whole registry exported, deleted and imported back, checked at the simulators."""

from __future__ import annotations

import asyncio
import json
import uuid
import xml.etree.ElementTree as ET

from registrations.wire import apple, entry
from sending.conftest import Stack

from shared.jobs.lines import job_registration_id
from shared.jobs.wire import job_request_entry
from support.processes import HostProcess
from support.stack import NhCaller, create_hub, installation

from .conftest import ATOM, ENTRY, NH, Container, finished, numbered, run_job, submit

TOKENS = [f"{n:064x}" for n in range(1, 4)]


def _line(description: bytes) -> str:
    """The description inside an entry, as one line of an import file."""
    text = description.decode()
    start = '<content type="application/xml">'
    return text[text.index(start) + len(start) : text.index("</content>")]


async def _put_registration(nh: NhCaller, registration_id: str, body: bytes) -> None:
    async with nh.client() as http:
        answer = await http.put(
            f"/registrations/{registration_id}", content=body, headers=nh.headers()
        )
    assert answer.status_code == 200, answer.text


async def _feed(nh: NhCaller) -> dict[str, dict[str, str]]:
    """Every registration of the hub: id -> its text members (without ETag and expiry)."""
    found: dict[str, dict[str, str]] = {}
    async with nh.client() as http:
        answer = await http.get("/registrations", params={"$top": "1000"}, headers=nh.headers())
    assert answer.status_code == 200, answer.text
    for item in ET.fromstring(answer.content).findall(f"{ATOM}entry"):
        (description,) = list(item.find(f"{ATOM}content") or [])
        members = {c.tag.split("}")[1]: c.text or "" for c in description}
        found[members["RegistrationId"]] = {
            k: v for k, v in members.items() if k not in ("ETag", "ExpirationTime")
        }
    return found


async def test_an_export_writes_every_registration_one_per_line(
    stack: Stack, container: Container
) -> None:
    nh = stack.nh
    for n, token in enumerate(TOKENS):
        await _put_registration(nh, f"r{n}", apple(token, f"t{n},all"))
    async with nh.client() as http:
        templated = installation("inst-1", templates={"main": {"body": '{"aps":{"x":"$(m)"}}'}})
        answer = await http.put("/installations/inst-1", json=templated, headers=nh.headers())
        assert answer.status_code == 200

    job = await run_job(nh, "ExportRegistrations", container.uri())

    assert job.status == "Completed", job.members
    assert job.members["Progress"] == "100"
    assert job.members["Type"] == "ExportRegistrations"
    assert "?" not in job.members["OutputContainerUri"]  # the SAS token is never shown
    output = f"{nh.hub.name}/{job.job_id}/Output.txt"
    failed = f"{nh.hub.name}/{job.job_id}/Failed.txt"
    assert job.properties["OutputFilePath"] == output
    assert job.properties["FailedFilePath"] == failed
    lines = (await container.text(output)).splitlines()
    ids = sorted(ET.fromstring(line).findtext(f"{NH}RegistrationId") or "" for line in lines)
    # three registrations, and the installation as NH shows it: native and one template
    assert ids == sorted(["r0", "r1", "r2", "inst-1~", "inst-1~bWFpbg"])
    assert await container.text(failed) == ""


async def test_an_import_creates_each_line_and_names_each_bad_line(
    stack: Stack, container: Container
) -> None:
    nh = stack.nh
    good = _line(apple(TOKENS[0], "a"))
    # A template body holding a line end: written as a reference between CDATA sections.
    body = '<BodyTemplate><![CDATA[{"aps":]]>&#10;<![CDATA[{"alert":"$(m)"}}]]></BodyTemplate>'
    template = _line(apple(TOKENS[1], "b", body))
    lines = [
        good,  # 1
        "<not xml",  # 2
        "",  # 3: blank, skipped but counted
        _line(apple("zz-not-hex", "c")),  # 4: the handle is invalid
        template,  # 5
        good + "\r",  # 6: a Windows line end
    ]
    await container.put("in/create.txt", ("\n".join(lines) + "\n").encode())

    job = await run_job(
        nh, "ImportCreateRegistrations", container.uri(), container.uri("in/create.txt")
    )

    assert job.status == "Completed", job.members
    assert job.properties["SucceededCount"] == "3"
    assert job.properties["FailedCount"] == "2"
    output = numbered(await container.text(job.properties["OutputFilePath"]))
    failures = numbered(await container.text(job.properties["FailedFilePath"]))
    assert sorted(output) == [1, 5, 6]
    assert sorted(failures) == [2, 4]
    assert "well-formed" in failures[2]
    feed = await _feed(nh)
    assert sorted(feed) == sorted(job_registration_id(job.job_id, n) for n in (1, 5, 6))
    assert feed[job_registration_id(job.job_id, 1)]["Tags"] == "a"
    stored = ET.fromstring(output[5])  # one line, and the template body as it was given
    assert stored.findtext(f"{NH}BodyTemplate") == '{"aps":\n{"alert":"$(m)"}}'


async def test_update_upsert_and_delete_act_on_the_lines_registration_ids(
    stack: Stack, container: Container
) -> None:
    nh = stack.nh
    await _put_registration(nh, "kept", apple(TOKENS[0], "old"))

    def with_id(registration_id: str, tags: str, token: str = TOKENS[0]) -> str:
        line = _line(apple(token, tags))
        return line.replace("<Tags>", f"<RegistrationId>{registration_id}</RegistrationId><Tags>")

    await container.put(
        "update.txt", f"{with_id('kept', 'new')}\n{with_id('absent', 'x')}\n".encode()
    )
    await container.put(
        "upsert.txt", f"{with_id('fresh', 'up', TOKENS[1])}\n{_line(apple(TOKENS[2]))}\n".encode()
    )
    await container.put(
        "delete.txt", f"{with_id('kept', 'new')}\n{with_id('absent', 'x')}\n".encode()
    )

    update = await run_job(
        nh, "ImportUpdateRegistrations", container.uri(), container.uri("update.txt")
    )
    assert numbered(await container.text(update.properties["FailedFilePath"])) == {
        2: "Registration not found."
    }
    upsert = await run_job(
        nh, "ImportUpsertRegistrations", container.uri(), container.uri("upsert.txt")
    )
    failures = numbered(await container.text(upsert.properties["FailedFilePath"]))
    assert list(failures) == [2]
    assert "RegistrationId is required" in failures[2]
    feed = await _feed(nh)
    assert {k: v["Tags"] for k, v in feed.items()} == {"kept": "new", "fresh": "up"}

    delete = await run_job(
        nh, "ImportDeleteRegistrations", container.uri(), container.uri("delete.txt")
    )
    assert delete.properties["SucceededCount"] == "2"  # one already gone counts as deleted
    assert sorted(await _feed(nh)) == ["fresh"]


async def test_uris_herald_may_not_use_fail_the_job_with_the_reason(
    stack: Stack, container: Container, azurite: str
) -> None:
    nh = stack.nh
    await container.put("in.txt", b"\n")
    bare = container.uri().split("?")[0]
    cases = {
        "not a SAS URI": (bare, "carries no SAS token"),
        "metadata endpoint": ("http://169.254.169.254/c?sig=x", "must use https"),
        "an IP literal": ("https://10.0.0.1/c?sig=x", "not an IP address"),
        "another host": ("https://example.com/c?sig=x", "not a known Azure Storage blob host"),
        "a blob, not a container": (container.uri("in.txt"), "must name a Blob container"),
    }
    for case, (uri, reason) in cases.items():
        job = await submit(nh, "ExportRegistrations", uri)
        assert job.status == "Failed", case
        assert reason in job.members["Failure"], case
    missing = Container(azurite, container.name + "x")  # never created
    job = await run_job(nh, "ExportRegistrations", missing.uri())
    await missing.aclose()
    assert job.status == "Failed"
    assert "not found" in job.members["Failure"]
    read_only = container.uri(read=True, list=True)
    job = await run_job(nh, "ExportRegistrations", read_only)
    assert job.status == "Failed"
    assert "refused" in job.members["Failure"]
    job = await run_job(nh, "ImportCreateRegistrations", container.uri(), container.uri("none.txt"))
    assert job.status == "Failed"
    assert "ImportFileUri: not found" in job.members["Failure"]


async def test_jobs_need_manage_and_a_well_formed_request(
    stack: Stack, container: Container
) -> None:
    nh = stack.nh
    listen = nh.as_listen()
    async with nh.client() as http:
        body = job_request_entry("ExportRegistrations", container.uri())
        refused = await http.post(
            "/jobs", content=body, headers=listen.headers(**{"Content-Type": ENTRY})
        )
        listed = await http.get("/jobs", headers=listen.headers())
        assert (refused.status_code, listed.status_code) == (403, 403)
        for bad, says in (
            (job_request_entry("", container.uri()), "Type is required"),
            (job_request_entry("ExportEverything", container.uri()), "is not a job type"),
            (
                job_request_entry("ImportCreateRegistrations", container.uri()),
                "ImportFileUri is required",
            ),
            (entry("<Something/>"), "is not a NotificationHubJob"),
        ):
            answer = await http.post("/jobs", content=bad, headers=nh.headers())
            assert answer.status_code == 400, says
            assert says in answer.text
        unknown = await http.get(f"/jobs/{'0' * 32}", headers=nh.headers())
        assert unknown.status_code == 404


async def test_export_delete_and_import_give_back_the_registry_each_device_once(
    stack: Stack, container: Container
) -> None:
    """Exported, deleted with the export file itself, and imported from it again: the same
    registrations, and a send reaches each device exactly once."""
    nh = stack.nh
    devices = {f"dev{n:03d}": f"{n + 1000:064x}" for n in range(120)}  # three steps of 50
    for registration_id, token in devices.items():
        await _put_registration(
            nh, registration_id, apple(token, f"all,g{int(registration_id[3:]) % 3}")
        )
    before = await _feed(nh)

    export = await run_job(nh, "ExportRegistrations", container.uri())
    exported = container.uri(export.properties["OutputFilePath"])
    delete = await run_job(nh, "ImportDeleteRegistrations", container.uri(), exported)
    assert delete.properties["SucceededCount"] == "120"
    assert await _feed(nh) == {}
    restore = await run_job(nh, "ImportUpsertRegistrations", container.uri(), exported)
    assert restore.properties["SucceededCount"] == "120"
    assert restore.properties["FailedCount"] == "0"
    assert await _feed(nh) == before

    async with nh.client() as http:
        payload = json.dumps({"aps": {"alert": "back"}})
        details = await stack.finished(http, await stack.send(http, payload, "apple", "all"))
    assert details is not None
    counts = await stack.counts("apns")
    assert {handle.lower(): n for handle, n in counts.items()} == {t: 1 for t in devices.values()}

    async with nh.client() as http:
        listed = await http.get("/jobs", headers=nh.headers())
    assert listed.status_code == 200
    ids = [
        e.findtext(f"{ATOM}title") for e in ET.fromstring(listed.content).findall(f"{ATOM}entry")
    ]
    assert ids == [export.job_id, delete.job_id, restore.job_id]
    again = await finished(nh, restore.job_id)
    assert again.status == "Completed"


async def test_jobs_of_several_hubs_run_at_once(
    stack: Stack, container: Container, app: HostProcess, azurite: str
) -> None:
    hubs = [stack.nh, NhCaller(app.url, await create_hub(azurite, f"jobs{uuid.uuid4().hex[:10]}"))]
    for n in range(len(hubs)):
        lines = [_line(apple(f"{n}{k:063x}", f"h{n}")) for k in range(120)]
        await container.put(f"in{n}.txt", ("\n".join(lines) + "\n").encode())
    submitted = [
        (nh, await submit(nh, kind, container.uri(), container.uri(f"in{n}.txt")))
        for n, nh in enumerate(hubs)
        for kind in ("ImportCreateRegistrations", "ImportCreateRegistrations")
    ]
    done = await asyncio.gather(*(finished(nh, job.job_id) for nh, job in submitted))
    assert [job.properties["SucceededCount"] for job in done] == ["120"] * 4
    for nh in hubs:
        assert len(await _feed(nh)) == 240  # two jobs of 120 lines each, every line once
