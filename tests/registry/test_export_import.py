"""The registry can be read back: export to JSON lines, import into another hub, twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

from registrations.wire import NS, description, entry

from shared.auth.sas import format_connection_string
from shared.hubs.model import FULL_POLICY
from support.processes import REPO, HostProcess
from support.stack import NhCaller, create_hub, installation, without_timestamps

from .storage_view import installation_rows


def _connection(caller: NhCaller) -> str:
    """The hub's Full connection string, with the test host as its endpoint."""
    policy = caller.hub.policies[FULL_POLICY]
    host = caller.base_url.split("//", 1)[1]
    return format_connection_string(f"sb://{host}/", policy.name, policy.primary_key)


async def _admin(caller: NhCaller, *arguments: str) -> dict[str, object]:
    """Run the hub command's export or import against the test host over http."""
    command = [*arguments, caller.hub.name, "--connection-string", _connection(caller), "--http"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.admin",
        *command,
        cwd=REPO,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    result: dict[str, object] = json.loads(out)
    return result


REGISTRATIONS = {
    "r-native": (
        "<FcmV1RegistrationDescription {ns}><ExpirationTime>2999-01-01T00:00:00.123Z"
        "</ExpirationTime><Tags>a,$UserId:{{bob}}</Tags><PushVariables>{{&quot;n&quot;:&quot;1"
        "&quot;}}</PushVariables><FcmV1RegistrationId>tok</FcmV1RegistrationId>"
        "</FcmV1RegistrationDescription>"
    ),
    "r-template": (
        "<AppleTemplateRegistrationDescription {ns}><Tags>b</Tags><DeviceToken>00fe</DeviceToken>"
        '<BodyTemplate><![CDATA[{{"aps":{{"alert":"$(m)"}}}}]]></BodyTemplate>'
        "<Expiry>$(e)</Expiry><TemplateName>t</TemplateName><Priority>10</Priority>"
        "<ApnsHeaders><ApnsHeader><Header>apns-push-type</Header><Value>alert</Value>"
        "</ApnsHeader></ApnsHeaders></AppleTemplateRegistrationDescription>"
    ),
}


async def test_export_then_import_twice_reproduces_the_registry(
    nh: NhCaller, app: HostProcess, azurite: str, tmp_path: Path, engine: object
) -> None:
    """Installations and registrations alike."""
    async with nh.client() as http:
        for number in range(7):
            body = installation(f"x{number}", tags=[f"t{number % 3}"], userId=f"u{number}")
            assert (
                await http.put(f"/installations/x{number}", json=body, headers=nh.headers())
            ).status_code == 200
        for registration_id, xml in REGISTRATIONS.items():
            answer = await http.put(
                f"/registrations/{registration_id}",
                content=entry(xml.format(ns=NS)),
                headers=nh.headers(),
            )
            assert answer.status_code == 200, answer.text
    exported = tmp_path / "devices.jsonl"
    assert (await _admin(nh, "export", "--out", str(exported)))["exported"] == 9

    target = NhCaller(app.url, await create_hub(azurite, f"copy{uuid.uuid4().hex[:10]}"))
    first = await _admin(target, "import", "--input", str(exported))
    assert (first["created"], first["unchanged"], first["failed"]) == (9, 0, 0)
    rows_once = await installation_rows(engine, target.hub.name)  # type: ignore[arg-type]
    second = await _admin(target, "import", "--input", str(exported))
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 9)
    rows_twice = await installation_rows(engine, target.hub.name)  # type: ignore[arg-type]
    assert len(rows_twice) == 9

    # The second import changed nothing: no version moved, no row was rewritten.
    assert {k: v["Version"] for k, v in rows_twice.items()} == {
        k: v["Version"] for k, v in rows_once.items()
    }
    async with nh.client() as source, target.client() as copy:
        for number in range(7):
            original = (await source.get(f"/installations/x{number}", headers=nh.headers())).json()
            copied = (await copy.get(f"/installations/x{number}", headers=target.headers())).json()
            assert without_timestamps(copied) == without_timestamps(original)
        for registration_id in REGISTRATIONS:
            path = f"/registrations/{registration_id}"
            original = (await source.get(path, headers=nh.headers())).content
            copied = (await copy.get(path, headers=target.headers())).content
            assert description(copied) == description(original)
