"""Sends through the whole stack, counted where they land: at the simulators."""

from __future__ import annotations

import json

from .conftest import NS, Stack, outcome_counts

PLATFORMS = ["apns", "fcmv1", "gcm", "wns", "browser", "adm", "baidu", "xiaomi"]
TEMPLATES = {
    "apns": '{"aps":{"alert":"$(greeting), $(name)"}}',
    "fcmv1": '{"message":{"notification":{"title":"$(greeting), $(name)"}}}',
    "gcm": '{"message":{"notification":{"title":"$(greeting), $(name)"}}}',
    "wns": (
        "<toast><visual><binding template='ToastText01'><text id='1'>$(greeting), $(name)"
        "</text></binding></visual></toast>"
    ),
    "browser": '{"title":"$(greeting), $(name)"}',
    "adm": '{"data":{"message":"$(greeting), $(name)"}}',
    "baidu": '{"title":"$(greeting)","description":"$(greeting), $(name)"}',
    "xiaomi": '{"title":"$(greeting)","description":"$(name)","payload":"$(greeting), $(name)"}',
}


def _template(platform: str) -> dict[str, object]:
    template: dict[str, object] = {"body": TEMPLATES[platform]}
    if platform == "wns":
        template["headers"] = {"X-WNS-Type": "wns/toast"}
    return template


async def test_a_template_send_to_a_tag_expression_reaches_each_matching_device_once(
    stack: Stack,
) -> None:
    """The tag spans every platform Herald delivers to, all seven services."""
    async with stack.nh.client() as http:
        devices = {}
        for platform in PLATFORMS:
            for tags in (["sports", "news"], ["sports", "muted"], ["news"]):
                device = await stack.device(platform)
                await stack.register(
                    http,
                    device,
                    tags=tags,
                    pushVariables={"name": device.installation_id},
                    templates={"main": _template(platform)},
                )
                devices[device.installation_id] = (device, tags)
        notification = await stack.send(
            http, json.dumps({"greeting": "Hello"}), "template", "sports && !muted"
        )
        details = await stack.finished(http, notification)

    expected = [d for d, tags in devices.values() if "sports" in tags and "muted" not in tags]
    for platform in PLATFORMS:
        wanted = [d for d in expected if d.platform == platform]
        counts = await stack.counts(platform)
        for device in wanted:
            assert counts.get(device.sim_key) == 1, (platform, device)
    all_counts = {}
    for sim in {d.sim for d, _ in devices.values()}:
        all_counts.update(await stack.sims.control.counts(sim))
    assert sum(all_counts.values()) == len(expected) == len(PLATFORMS)
    assert details.findtext(f"{NS}State") == "Completed"
    reported = outcome_counts(details)
    assert sum(c.get("Success", 0) for c in reported.values()) == len(PLATFORMS)
    assert reported["Baidu"] == reported["Xiaomi"] == {"Success": 1}
    records = await stack.sims.control.records("apns")
    apns_device = next(d for d in expected if d.platform == "apns")
    payload = json.loads(next(r for r in records if r["handle"] == apns_device.sim_key)["payload"])
    assert payload == {"aps": {"alert": f"Hello, {apns_device.installation_id}"}}
    mi_device = next(d for d in expected if d.platform == "xiaomi")
    (mi,) = await stack.sims.control.records("xiaomi", mi_device.sim_key)
    assert json.loads(mi["payload"])["payload"] == f"Hello, {mi_device.installation_id}"


async def test_a_native_send_reaches_only_its_platform_and_a_broadcast_reaches_all(
    stack: Stack,
) -> None:
    async with stack.nh.client() as http:
        apple = [await stack.device("apns") for _ in range(3)]
        others = [await stack.device("fcmv1"), await stack.device("adm")]
        for device in [*apple, *others]:
            await stack.register(http, device)
        native = await stack.send(http, '{"aps":{"alert":"hi"}}', "apple")
        await stack.finished(http, native)
        assert await stack.counts("apns") == {d.sim_key: 1 for d in apple}
        assert await stack.counts("fcmv1") == {}
        broadcast = await stack.send(http, json.dumps({"greeting": "x", "name": "y"}), "template")
        details = await stack.finished(http, broadcast)
    # No installation has a template, so a template broadcast reaches nobody.
    assert details.findtext(f"{NS}State") == "NoTargetFound"


async def test_throttled_deliveries_are_retried_until_each_device_has_it_once(
    stack: Stack,
) -> None:
    async with stack.nh.client() as http:
        devices = [await stack.device("fcmv1") for _ in range(5)]
        for device in devices:
            await stack.register(http, device, tags=["retry"])
        await stack.sims.control.set_faults(
            "fcm", first_n=1, first_n_kind="throttle", retry_after=1
        )
        notification = await stack.send(
            http, '{"message":{"notification":{"title":"again"}}}', "fcmv1", "retry"
        )
        details = await stack.finished(http, notification)
    assert await stack.counts("fcmv1") == {d.sim_key: 1 for d in devices}
    assert outcome_counts(details)["FcmV1"] == {"Success": 5}
