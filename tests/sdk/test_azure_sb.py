"""The legacy Node SDK azure-sb 0.11 (unmodified) against Herald over HTTPS: installations
created, read, patched and deleted, and native and template sends counted at the simulators.

azure-sb signs the request URL with its port spelled out (``https://127.0.0.1:<port>/...``, and
``https://host:443/...`` on Azure) but sends a Host header without it: Herald judges the audience
by the hosts it answers to, not by that header."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sending.conftest import NS, Stack, new_stack, outcome_counts

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from emulator.pns.certs import CertPaths, ensure_certs
from support.node import loopback_connection_string, run_node
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

SCRIPT = Path(__file__).with_name("azure_sb.mjs")
REGISTRATIONS_SCRIPT = Path(__file__).with_name("azure_sb_registrations.mjs")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    return ensure_certs(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators, tls: CertPaths) -> Iterator[HostProcess]:
    """The app as the SDKs need it: also on HTTPS, with a certificate for localhost."""
    env = app_env(azurite, **app_settings(sims.endpoints.to_json()))
    with running_host(REPO, env, tls=tls) as host:
        yield host


async def _run_azure_sb(
    app: HostProcess,
    tls: CertPaths,
    stack: Stack,
    scenario: dict[str, Any],
    script: Path = SCRIPT,
) -> dict[str, Any]:
    assert app.https_url is not None
    # azure-common checks the endpoint with validator's isURL, which wants a TLD or an IP.
    connection = loopback_connection_string(stack.nh, app.https_url)
    return await run_node(
        script,
        connection,
        stack.nh.hub.name,
        json.dumps(scenario),
        env={"NODE_EXTRA_CA_CERTS": str(tls.ca_file)},
    )


def _ok(results: dict[str, Any], step: str, status: int) -> Any:
    result = results[step]
    assert result["ok"], (step, result)
    assert result["value"]["statusCode"] == status, (step, result)
    return result["value"]


async def test_azure_sb_manages_installations_and_sends_to_them(
    app: HostProcess, tls: CertPaths, azurite: str, sims: RunningSimulators
) -> None:
    stack = await new_stack(app, azurite, sims, "azuresb")
    apple = [await stack.device("apns") for _ in range(3)]
    gcm = await stack.device("gcm")
    template = await stack.device("apns")
    scenario = {
        "apple": [d.channel for d in apple],
        "gcm": gcm.channel,
        "template": template.channel,
    }
    results = await _run_azure_sb(app, tls, stack, scenario)

    for name in ("apple0", "apple1", "leaving", "gcm", "template"):
        _ok(results, f"put_{name}", 200)
    stored = _ok(results, "get", 200)["result"]
    assert (stored["installationId"], stored["platform"]) == ("sb-apple0", "apns")
    assert (stored["pushChannel"], stored["tags"]) == (apple[0].channel, ["vip"])
    _ok(results, "patch", 200)
    assert sorted(_ok(results, "get_patched", 200)["result"]["tags"]) == ["patched", "vip"]
    _ok(results, "delete", 204)
    assert results["get_deleted"]["error"]["statusCode"] == 404

    expected_outcomes = {
        "send_apple_vip": {"Apns": {"Success": 1}},
        "send_apple_tags": {"Apns": {"Success": 2}},
        "send_gcm_vip": {"FcmV1": {"Success": 1}},
        "send_template": {"Apns": {"Success": 1}},
    }
    async with stack.nh.client() as http:
        for step, outcomes in expected_outcomes.items():
            location = _ok(results, step, 201)["location"]
            details = await stack.finished(http, urlsplit(location).path.split("/")[3])
            assert outcome_counts(details) == outcomes, step
        deleted = _ok(results, "send_deleted", 201)["location"]
        details = await stack.finished(http, urlsplit(deleted).path.split("/")[3])
        assert details.findtext(f"{NS}State") == "NoTargetFound"

    received = Counter(
        (record["handle"], json.loads(record["payload"])["aps"]["alert"])
        for record in await sims.control.records("apns")
    )
    assert received == {
        (apple[0].sim_key, "vip"): 1,
        (apple[0].sim_key, "patched or basic"): 1,
        (apple[1].sim_key, "patched or basic"): 1,
        (template.sim_key, "templated"): 1,
    }  # nothing lost, nothing doubled, nothing to the deleted installation
    fcm = await sims.control.records("fcm")
    assert [(r["handle"], json.loads(r["payload"])["data"]) for r in fcm] == [
        (gcm.sim_key, {"message": "gcm vip"})
    ]


async def test_azure_sb_manages_registrations_and_sends_reach_each_one(
    app: HostProcess, tls: CertPaths, azurite: str, sims: RunningSimulators
) -> None:
    """NotificationHubService's registration calls, its apns, gcm and wns helpers and its list
    calls; then native and template sends, counted where they land."""
    stack = await new_stack(app, azurite, sims, "azuresbreg")
    apple = [await stack.device("apns") for _ in range(3)]
    gcm = [await stack.device("gcm") for _ in range(2)]
    wns = [await stack.device("wns") for _ in range(2)]
    scenario = {
        "apple": [d.channel for d in apple],
        "gcm": [d.channel for d in gcm],
        "wns": [d.channel for d in wns],
    }
    results = await _run_azure_sb(app, tls, stack, scenario, REGISTRATIONS_SCRIPT)

    registration_id = _ok(results, "id", 201)["result"]
    assert registration_id.count("-") == 2
    native = _ok(results, "apple_native", 200)["result"]
    assert native["_"]["ContentRootElement"] == "AppleRegistrationDescription"
    assert (native["RegistrationId"], native["DeviceToken"]) == (
        registration_id,
        apple[0].channel.upper(),
    )
    for step, root in (
        ("apple_template", "AppleTemplateRegistrationDescription"),
        ("gcm_native", "GcmRegistrationDescription"),
        ("gcm_template", "GcmTemplateRegistrationDescription"),
        ("wns_native", "WindowsRegistrationDescription"),
        ("wns_template", "WindowsTemplateRegistrationDescription"),
    ):
        assert _ok(results, step, 200)["result"]["_"]["ContentRootElement"] == root, step
    template = _ok(results, "wns_template", 200)["result"]
    assert template["WnsHeaders"]["WnsHeader"] == {"Header": "X-WNS-Type", "Value": "wns/toast"}
    assert _ok(results, "create_or_update", 200)["result"]["Tags"] == "sb-apple,sb-changed"
    updated = _ok(results, "update", 200)["result"]
    assert (updated["Tags"], updated["ETag"]) == ("sb-apple,sb-updated", "3")
    assert results["update_stale"]["error"]["statusCode"] == 412

    listed = _ok(results, "list", 200)["result"]
    assert len(listed) == 7
    (by_tag,) = _ok(results, "list_by_tag", 200)["result"]
    assert by_tag["RegistrationId"] == registration_id
    assert [r["RegistrationId"] for r in _ok(results, "list_by_token", 200)["result"]] == [
        registration_id
    ]
    (by_gcm,) = _ok(results, "list_by_gcm", 200)["result"]
    assert by_gcm["GcmRegistrationId"] == gcm[0].channel
    (by_channel,) = _ok(results, "list_by_channel", 200)["result"]
    assert by_channel["ChannelUri"] == wns[0].channel
    _ok(results, "delete", 200)
    assert results["get_deleted"]["error"]["statusCode"] == 404

    async with stack.nh.client() as http:
        for step in ("send_apple", "send_gcm", "send_wns", "send_template", "send_deleted"):
            location = _ok(results, step, 201)["location"]
            await stack.finished(http, urlsplit(location).path.split("/")[3])
    received = Counter()
    for sim in ("apns", "fcm", "wns"):
        received.update(Counter(r["handle"] for r in await sims.control.records(sim)))
    assert received == {
        apple[0].sim_key: 1,
        apple[1].sim_key: 1,
        gcm[0].sim_key: 1,
        gcm[1].sim_key: 1,
        wns[0].sim_key: 1,
        wns[1].sim_key: 1,
    }  # each registration its own sends once; nothing to the deleted one
    apns = {r["handle"]: json.loads(r["payload"]) for r in await sims.control.records("apns")}
    assert apns[apple[1].sim_key] == {"aps": {"alert": "templated"}}
