"""The Baidu and Xiaomi simulators, spoken to directly: what each checks and how it answers."""

from __future__ import annotations

import hashlib
import secrets
import time
from urllib.parse import quote_plus

import httpx
from simulators.simkit import h1_client

from emulator.pns import RunningSimulators


def baidu_form(sims: RunningSimulators, url: str, **overrides: str) -> dict[str, str]:
    """A signed single_device form (the signature written out here, as Baidu documents it)."""
    creds = sims.credentials
    form = {
        "apikey": creds.baidu_api_key,
        "timestamp": str(int(time.time())),
        "device_type": "3",
        "channel_id": str(secrets.randbelow(10**19)),
        "msg_type": "1",
        "msg": '{"title":"t","description":"d"}',
        **overrides,
    }
    gathered = "POST" + url + "".join(f"{k}={form[k]}" for k in sorted(form))
    encoded = quote_plus(gathered + creds.baidu_secret_key, safe="").replace("~", "%7E")
    form["sign"] = hashlib.md5(encoded.encode(), usedforsecurity=False).hexdigest()
    return form


async def baidu_post(sims: RunningSimulators, form: dict[str, str]) -> httpx.Response:
    async with h1_client(sims) as client:
        return await client.post(sims.endpoints.baidu + "/push/single_device", data=form)


async def test_baidu_delivers_a_signed_request(sims: RunningSimulators) -> None:
    await sims.control.reset()
    url = sims.endpoints.baidu + "/push/single_device"
    form = baidu_form(sims, url)
    response = await baidu_post(sims, form)
    assert response.status_code == 200
    assert set(response.json()["response_params"]) == {"msg_id", "send_time"}
    assert await sims.control.counts("baidu") == {form["channel_id"]: 1}


async def test_baidu_refuses_what_its_documents_refuse(sims: RunningSimulators) -> None:
    await sims.control.reset()
    url = sims.endpoints.baidu + "/push/single_device"
    tampered = {**baidu_form(sims, url), "msg": '{"title":"x","description":"y"}'}
    cases = [
        (tampered, 401, 30603),  # the signature no longer matches
        (baidu_form(sims, url, apikey="unknown"), 401, 30603),
        (baidu_form(sims, url, timestamp=str(int(time.time()) - 601)), 401, 30606),
        (baidu_form(sims, url, msg_type="1", msg='{"title":"no description"}'), 400, 30602),
        (baidu_form(sims, url, msg_type="0", msg="x" * 4097), 400, 30602),
        (baidu_form(sims, url, channel_id="not-a-number"), 400, 30602),
        (baidu_form(sims, url, msg_expires="604801"), 400, 30602),
    ]
    for form, status, code in cases:
        response = await baidu_post(sims, form)
        assert (response.status_code, response.json()["error_code"]) == (status, code), form
    assert await sims.control.counts("baidu") == {}


async def xiaomi_post(
    sims: RunningSimulators, form: dict[str, str], secret: str | None = None, scheme: str = "key"
) -> httpx.Response:
    secret = secret or sims.credentials.xiaomi_app_secret
    async with h1_client(sims) as client:
        return await client.post(
            sims.endpoints.xiaomi + "/v3/message/regid",
            data=form,
            headers={"authorization": f"{scheme}={secret}"},
        )


async def test_xiaomi_checks_the_key_and_the_form(sims: RunningSimulators) -> None:
    await sims.control.reset()
    ok = {"registration_id": "r1,r2", "title": "t", "description": "d", "payload": "p"}
    cases = [
        ({**ok}, "wrong", "key", 21301),
        ({**ok}, None, "Key", 21301),  # Xiaomi wants "key" in lower case
        ({**ok, "registration_id": ",".join(f"r{i}" for i in range(1001))}, None, "key", 10017),
        ({**ok, "description": ""}, None, "key", 10016),
        ({**ok, "title": "t" * 50}, None, "key", 10017),
        ({**ok, "payload": "p" * 4097}, None, "key", 65009),
        ({**ok, "colour": "red"}, None, "key", 10017),
    ]
    for form, secret, scheme, code in cases:
        response = await xiaomi_post(sims, form, secret, scheme)
        body = response.json()
        assert (response.status_code, body["result"], body["code"]) == (200, "error", code), form
    assert await sims.control.counts("xiaomi") == {}


async def test_xiaomi_lists_bad_regids_and_delivers_the_rest(sims: RunningSimulators) -> None:
    await sims.control.reset()
    await sims.control.mark_handle("xiaomi", "gone", "dead")
    form = {"registration_id": "r1,gone", "pass_through": "1", "payload": "p"}
    body = (await xiaomi_post(sims, form)).json()
    assert (body["result"], body["code"], body["data"]["bad_regids"]) == ("ok", 0, "gone")
    assert await sims.control.counts("xiaomi") == {"r1": 1}
    alone = (await xiaomi_post(sims, {**form, "registration_id": "gone"})).json()
    assert (alone["code"], alone["reason"]) == (20301, "No valid targets!")
