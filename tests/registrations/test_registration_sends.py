"""Registrations are the same registry: sends reach them (native ones by native sends of their
platform, template ones by template sends), telemetry names them, a dead handle deletes them,
and their expiry removes them. Counted at the simulators."""

from __future__ import annotations

import json
from collections.abc import Iterator
from xml.sax.saxutils import escape

import httpx
import pytest
from feedback.conftest import all_feedback, run_timer
from registry.storage_view import index_rows, installation_rows
from sending.conftest import Device, Stack, new_stack, outcome_counts
from sending.test_send_basics import PLATFORMS, TEMPLATES

from devstack.simulated import app_settings
from emulator.pns import RunningSimulators
from shared.engine import Engine
from support.processes import REPO, HostProcess, running_host
from support.stack import app_env

from .wire import NS, entry

KINDS = {
    "apns": ("Apple", ["DeviceToken"]),
    "gcm": ("Gcm", ["GcmRegistrationId"]),
    "fcmv1": ("FcmV1", ["FcmV1RegistrationId"]),
    "wns": ("Windows", ["ChannelUri"]),
    "browser": ("Browser", ["Endpoint", "P256DH", "Auth"]),
    "adm": ("Adm", ["AdmRegistrationId"]),
    "baidu": ("Baidu", ["BaiduUserId", "BaiduChannelId"]),
    "xiaomi": ("Xiaomi", ["XiaomiRegistrationId"]),
}
NATIVE = {
    "apns": ("apple", '{"aps":{"alert":"native"}}'),
    "gcm": ("gcm", '{"notification":{"title":"native"}}'),
    "fcmv1": ("fcmv1", '{"message":{"notification":{"title":"native"}}}'),
    "wns": ("windows", "<toast><visual><binding template='ToastText01'><text id='1'>native"
            "</text></binding></visual></toast>"),
    "browser": ("browser", '{"title":"native"}'),
    "adm": ("adm", '{"data":{"message":"native"}}'),
    "baidu": ("baidu", '{"title":"native","description":"native"}'),
    "xiaomi": ("xiaomi", '{"title":"native","description":"native"}'),
}  # fmt: skip


@pytest.fixture(scope="module")
def app(azurite: str, sims: RunningSimulators) -> Iterator[HostProcess]:
    env = app_env(azurite, **app_settings(sims.endpoints.to_json()))
    with running_host(REPO, env) as host:
        yield host


@pytest.fixture
async def stack(app: HostProcess, azurite: str, sims: RunningSimulators) -> Stack:
    return await new_stack(app, azurite, sims, "regs")


def description(
    device: Device,
    tags: list[str],
    *,
    template: str | None = None,
    name: str | None = None,
    variables: dict[str, str] | None = None,
    expiration: str | None = None,
) -> bytes:
    """The description a client would write for ``device``: native, or with ``template``."""
    kind, handle_names = KINDS[device.platform]
    channel = device.channel
    if device.platform == "browser":
        values = [channel["endpoint"], channel["p256dh"], channel["auth"]]
    elif device.platform == "baidu":
        values = list(channel.rsplit("-", 1))
    else:
        values = [channel]
    members = f"<Tags>{','.join(tags)}</Tags>" if tags else ""
    if expiration:
        members = f"<ExpirationTime>{expiration}</ExpirationTime>" + members
    if variables:
        members += f"<PushVariables>{escape(json.dumps(variables))}</PushVariables>"
    members += "".join(f"<{n}>{escape(v)}</{n}>" for n, v in zip(handle_names, values, strict=True))
    if template is not None:
        kind += "Template"
        members += f"<BodyTemplate><![CDATA[{template}]]></BodyTemplate>"
        if device.platform == "wns":
            members += (
                "<WnsHeaders><WnsHeader><Header>X-WNS-Type</Header><Value>wns/toast</Value>"
                "</WnsHeader></WnsHeaders>"
            )
        if name:
            members += f"<TemplateName>{escape(name)}</TemplateName>"
    root = f"{kind}RegistrationDescription"
    return entry(f"<{root} {NS}>{members}</{root}>")


async def put(stack: Stack, http: httpx.AsyncClient, registration_id: str, body: bytes) -> None:
    answer = await http.put(
        f"/registrations/{registration_id}", content=body, headers=stack.nh.headers()
    )
    assert answer.status_code == 200, answer.text


async def _all_counts(stack: Stack) -> dict[str, int]:
    found: dict[str, int] = {}
    for sim in {"apns", "fcm", "wns", "webpush", "adm", "baidu", "xiaomi"}:
        found.update(await stack.sims.control.counts(sim))
    return found


async def test_each_kind_gets_its_own_sends_once_and_installations_alike(stack: Stack) -> None:
    """One device per platform holds a native and a template registration, as the device SDKs
    make them; template sends reach the template one, native sends the native one."""
    async with stack.nh.client() as http:
        devices = {}
        for platform in PLATFORMS:
            device = await stack.device(platform)
            devices[platform] = device
            await put(stack, http, f"n-{platform}", description(device, ["t", "u"]))
            await put(
                stack, http, f"t-{platform}",
                description(device, ["t", "u"], template=TEMPLATES[platform], name="main",
                            variables={"name": f"reg-{platform}"}),
            )  # fmt: skip
        installed = await stack.device("apns")
        await stack.register(
            http, installed, tags=["t"], templates={"x": {"body": TEMPLATES["apns"]}}
        )

        # "t || u": both tags on every registration, still one delivery each (exactly once).
        greeting = json.dumps({"greeting": "Hello"})
        details = await stack.finished(http, await stack.send(http, greeting, "template", "t || u"))
        counts = await _all_counts(stack)
        for platform, device in devices.items():
            assert counts.get(device.sim_key) == 1, platform
        assert counts[installed.sim_key] == 1
        assert sum(counts.values()) == len(PLATFORMS) + 1
        assert sum(c.get("Success", 0) for c in outcome_counts(details).values()) == 9
        (apns,) = [r for r in await stack.sims.control.records("apns")
                   if r["handle"] == devices["apns"].sim_key]  # fmt: skip
        assert json.loads(apns["payload"]) == {"aps": {"alert": "Hello, reg-apns"}}

        await stack.sims.control.reset_records()
        for platform, (send_format, payload) in NATIVE.items():
            headers = {"X-WNS-Type": "wns/toast"} if platform == "wns" else {}
            await stack.finished(
                http, await stack.send(http, payload, send_format, "t || u", **headers)
            )
        counts = await _all_counts(stack)
    for platform, device in devices.items():
        # gcm and fcmv1 are both FCM: each native FCM send reaches both FCM registrations.
        expected = 2 if platform in ("gcm", "fcmv1") else 1
        assert counts.get(device.sim_key) == expected, platform
    assert counts[installed.sim_key] == 1  # the apple send


async def test_a_broadcast_reaches_registrations_and_a_test_send_names_them(
    stack: Stack,
) -> None:
    async with stack.nh.client() as http:
        device = await stack.device("fcmv1")
        await put(stack, http, "solo", description(device, []))
        answer = await http.post(
            "/messages/",
            params={"test": "true"},
            content=NATIVE["fcmv1"][1],
            headers=stack.nh.headers(
                **{"ServiceBusNotification-Format": "fcmv1", "Content-Type": "application/json"}
            ),
        )
    assert answer.status_code == 201
    assert "<RegistrationId>solo</RegistrationId>" in answer.text
    assert await stack.counts("fcmv1") == {device.sim_key: 1}


async def test_a_dead_handle_deletes_the_registration_as_nh_does(
    stack: Stack, app: HostProcess, engine: Engine
) -> None:
    async with stack.nh.client() as http:
        dead = await stack.device("apns")
        alive = await stack.device("apns")
        await put(stack, http, "dead", description(dead, ["news"]))
        await put(stack, http, "alive", description(alive, ["news"]))
        await stack.sims.control.mark_handle("apns", dead.sim_key, "dead")
        notification = await stack.send(http, NATIVE["apns"][1], "apple", "news")
        await stack.finished(http, notification)
        report = await http.get(
            f"/messages/{notification}", headers=stack.nh.headers(Accept="application/json")
        )
        (failure,) = report.json()["failures"]["items"]
        assert failure["registrationId"] == "dead"
        assert "installationId" not in failure

        await run_timer(app)

        gone = await http.get("/registrations/dead", headers=stack.nh.headers())
        kept = await http.get("/registrations/alive", headers=stack.nh.headers())
        (history,) = await all_feedback(stack, http)
    assert (gone.status_code, kept.status_code) == (404, 200)
    assert await index_rows(engine, stack.nh.hub.name) == {("news", "reg:alive")}
    assert history["action"] == "deleted"
    assert history["registrationId"] == "dead"
    assert history["handle"] == dead.sim_key.upper()  # as NH keeps device tokens


async def test_registrations_past_their_expiration_time_are_removed(
    stack: Stack, app: HostProcess, engine: Engine
) -> None:
    async with stack.nh.client() as http:
        old, new = await stack.device("fcmv1"), await stack.device("fcmv1")
        await put(stack, http, "old", description(old, ["a"], expiration="2001-01-01T00:00:00Z"))
        await put(stack, http, "new", description(new, ["a"], expiration="2999-01-01T00:00:00Z"))
        notification = await stack.send(http, NATIVE["fcmv1"][1], "fcmv1", "a")
        await stack.finished(http, notification)
        assert await stack.counts("fcmv1") == {new.sim_key: 1}  # sends skip it already

        await run_timer(app)

        gone = await http.get("/registrations/old", headers=stack.nh.headers())
        (history,) = await all_feedback(stack, http)
    assert gone.status_code == 404
    assert set(await installation_rows(engine, stack.nh.hub.name)) == {"reg:new"}
    assert history["action"] == "removed"
    assert history["registrationId"] == "old"
