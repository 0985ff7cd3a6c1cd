"""Baidu: the signature, handles, message types, the error-code table, credentials."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.pns.keys import answer

from shared.errors import BadRequestError
from shared.pns import baidu
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

K = OutcomeKind
URL = "https://api.tuisong.baidu.com/rest/3.0/push/single_device"


def test_the_signature_is_md5_of_the_php_urlencoded_request_and_secret() -> None:
    params = {"timestamp": "1700000000", "msg": '{"t":"x"}', "apikey": "Ka b~", "channel_id": "42"}
    # POST + URL + sorted k=v + secret, urlencoded as PHP does ('~' too, space as '+'):
    encoded = (
        "POSThttps%3A%2F%2Fapi.tuisong.baidu.com%2Frest%2F3.0%2Fpush%2Fsingle_device"
        "apikey%3DKa+b%7Echannel_id%3D42msg%3D%7B%22t%22%3A%22x%22%7Dtimestamp%3D1700000000"
        "secret"
    )
    expected = hashlib.md5(encoded.encode(), usedforsecurity=False).hexdigest()
    assert baidu.sign("POST", URL, params, "secret") == expected


@given(st.dictionaries(st.sampled_from(["apikey", "msg", "channel_id"]), st.text(), min_size=1))
def test_the_signature_depends_on_every_parameter(params: dict[str, str]) -> None:
    signature = baidu.sign("POST", URL, params, "s")
    for key in params:
        assert baidu.sign("POST", URL, {**params, key: params[key] + "x"}, "s") != signature
    assert baidu.sign("POST", URL, params, "t") != signature


@pytest.mark.parametrize(
    ("handle", "channel"),
    [
        ("123-4567", "4567"),
        ("4567", "4567"),
        ("user-x-99", "99"),
        ("bad channel", None),
        ("", None),
    ],
)
def test_the_channel_id_comes_from_nh_handles_or_bare_ids(handle: str, channel: str | None) -> None:
    assert baidu.channel_id(handle) == channel


@pytest.mark.parametrize(
    ("payload", "headers", "msg_type"),
    [
        (b'{"title":"t","description":"d"}', {}, "1"),
        (b'{"title":"t","description":"d"}', {"x-baidu-message-type": "0"}, "0"),
        (b'{"k":"v"}', {}, "0"),
        (b'{"k":"v"}', {"x-baidu-message-type": "1"}, "1"),
        (b"not json", {}, "0"),
    ],
)
def test_the_message_type(payload: bytes, headers: dict[str, str], msg_type: str) -> None:
    assert baidu.message_type(payload, headers) == msg_type


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, 30600, K.TRANSIENT),
        (400, 30601, K.PAYLOAD_REJECTED),
        (400, 30602, K.PAYLOAD_REJECTED),
        (401, 30603, K.CREDENTIALS_REJECTED),
        (400, 30604, K.THROTTLED),
        (401, 30606, K.TRANSIENT),
        (400, 30607, K.EXPIRED_HANDLE),
        (400, 30608, K.EXPIRED_HANDLE),
        (400, 30612, K.CREDENTIALS_REJECTED),
        (400, 39999, K.PAYLOAD_REJECTED),
        (503, 39999, K.TRANSIENT),
    ],
)
def test_every_error_code_maps_to_one_outcome(status: int, code: int, kind: OutcomeKind) -> None:
    body = json.dumps({"request_id": 1, "error_code": code, "error_msg": "words"}).encode()
    outcome = baidu._outcome("u-1", answer(status, body=body))
    assert (outcome.kind, outcome.status, outcome.reason) == (kind, status, f"{code} words")


def test_success_and_answers_without_a_code() -> None:
    ok = json.dumps({"request_id": 1, "response_params": {"msg_id": "9", "send_time": 1}})
    assert baidu._outcome("1", answer(200, body=ok.encode())).kind is K.DELIVERED
    assert baidu._outcome("1", answer(502, body=b"<html>")).kind is K.TRANSIENT
    assert baidu._outcome("1", answer(302, body=b"")).kind is K.PAYLOAD_REJECTED


async def test_local_checks_need_no_request() -> None:
    sender = baidu.build({"BaiduApiKey": "k", "BaiduSecretKey": "s"}, PnsOptions())
    outcomes = await sender.send(
        [
            PushMessage("user-not a channel", b"{}"),
            PushMessage("1-2", b'{"description":"' + b"x" * 4096 + b'"}'),
            PushMessage("1-2", b"\xff\xfe"),
        ]
    )
    await sender.aclose()
    assert [(o.kind, o.status) for o in outcomes] == [
        (K.INVALID_HANDLE, None),
        (K.PAYLOAD_REJECTED, None),
        (K.PAYLOAD_REJECTED, None),
    ]
    assert "limit 4096" in outcomes[1].reason


def test_credentials_take_nh_names_or_ours_and_mask_the_secret() -> None:
    nh = baidu.BaiduCredentials.from_dict({"BaiduApiKey": "k", "BaiduSecretKey": "s"})
    ours = baidu.BaiduCredentials.from_dict({"api_key": "k", "secret_key": "s"})
    assert nh == ours
    assert nh.endpoint == baidu.BAIDU_ENDPOINT
    assert "'***'" in repr(nh)
    assert "'s'" not in repr(nh)
    legacy = "https://channel.api.duapp.com/rest/2.0/channel/channel"  # NH's default
    assert baidu.BaiduCredentials.from_dict({**nh.to_dict(), "endpoint": legacy}) == nh
    with pytest.raises(BadRequestError, match="given twice"):
        baidu.BaiduCredentials.from_dict({"BaiduApiKey": "k", "api_key": "k", "secret_key": "s"})
    with pytest.raises(BadRequestError, match="'secret_key' is required"):
        baidu.BaiduCredentials.from_dict({"BaiduApiKey": "k"})


@pytest.mark.parametrize(
    "endpoint",
    ["http://api.tuisong.baidu.com/rest/3.0", "https://evil.example/rest/3.0", "https://10.0.0.1"],
)
def test_an_endpoint_off_the_allow_list_builds_no_sender(endpoint: str) -> None:
    with pytest.raises(BadRequestError):
        baidu.build({"api_key": "k", "secret_key": "s", "endpoint": endpoint}, PnsOptions())
