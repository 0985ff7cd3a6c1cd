"""Xiaomi: NH bodies as Mi Push forms, the result-code table, bad_regids, credentials."""

from __future__ import annotations

import json

import pytest
from unit.pns.keys import answer

from shared.errors import BadRequestError
from shared.pns import xiaomi
from shared.pns.base import OutcomeKind, PushMessage
from shared.pns.options import PnsOptions

K = OutcomeKind


def test_a_body_becomes_the_mi_push_form() -> None:
    body = {
        "title": "T",
        "description": "D",
        "payload": {"k": 1},
        "notify_type": -1,
        "time_to_live": "60000",
        "restricted_package_name": "com.example",
        "extra": {"notify_effect": "1", "badge": 2},
        "extra.sound_uri": "x",
    }
    assert xiaomi.message_form(json.dumps(body).encode()) == {
        "title": "T",
        "description": "D",
        "payload": '{"k":1}',
        "notify_type": "-1",
        "time_to_live": "60000",
        "restricted_package_name": "com.example",
        "extra.notify_effect": "1",
        "extra.badge": "2",
        "extra.sound_uri": "x",
    }


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[]", "JSON object"),
        (b"nope", "JSON object"),
        (b'{"title":"t"}', "non-blank 'description'"),
        (b'{"title":" ","description":"d"}', "non-blank 'title'"),
        (b'{"pass_through":2,"payload":"p"}', "0 \\(notification\\) or 1"),
        (b'{"pass_through":true}', "must be an integer"),
        (b'{"pass_through":1,"extra":[1]}', "'extra' must be an object"),
        (b'{"pass_through":1,"extra":{"k":{}}}', "'extra.k' must be text"),
        (b'{"pass_through":1,"to":"x"}', "'to' is not a Mi Push"),
        (('{"title":"%s","description":"d"}' % ("t" * 50)).encode(), "shorter than 50"),
        (('{"title":"t","description":"%s"}' % ("d" * 128)).encode(), "shorter than 128"),
    ],
)
def test_bodies_that_are_no_mi_push_message(body: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        xiaomi.message_form(body)


def test_a_pass_through_message_needs_no_title() -> None:
    assert xiaomi.message_form(b'{"pass_through":1,"payload":"p"}') == {
        "pass_through": "1",
        "payload": "p",
    }


def sender() -> xiaomi.XiaomiSender:
    return xiaomi.build({"AppSecret": "s"}, PnsOptions())


@pytest.mark.parametrize(
    ("code", "reason", "kind"),
    [
        (10001, "系统错误", K.TRANSIENT),
        (10002, "系统繁忙", K.TRANSIENT),
        (10003, "远程服务错误", K.TRANSIENT),
        (10027, "应用的API调用太频繁", K.THROTTLED),
        (10034, "应用当日发送消息数量过多", K.THROTTLED),
        (10037, "请求过期", K.TRANSIENT),
        (10031, "应用在黑名单中", K.CREDENTIALS_REJECTED),
        (10036, "应用操作被禁止", K.CREDENTIALS_REJECTED),
        (21301, "认证失败", K.CREDENTIALS_REJECTED),
        (22000, "非法应用", K.CREDENTIALS_REJECTED),
        (20301, "No valid targets!", K.INVALID_HANDLE),
        (20301, "发送消息失败", K.TRANSIENT),
        (65009, "消息内容太长", K.PAYLOAD_REJECTED),
        (10017, "参数值非法", K.PAYLOAD_REJECTED),
        (22022, "应用程序package name不合法", K.PAYLOAD_REJECTED),
    ],
)
def test_every_error_code_maps_to_one_outcome(code: int, reason: str, kind: OutcomeKind) -> None:
    body = json.dumps({"result": "error", "code": code, "reason": reason}).encode()
    outcomes = sender()._outcomes(["a", "b"], answer(200, body=body))
    assert [(o.kind, o.handle, o.reason) for o in outcomes] == [
        (kind, "a", f"{code} {reason}"),
        (kind, "b", f"{code} {reason}"),
    ]


def test_code_zero_delivers_all_but_the_bad_regids() -> None:
    body = {"result": "ok", "code": 0, "data": {"id": "sdm1", "bad_regids": "b,c"}}
    outcomes = sender()._outcomes(["a", "b", "c"], answer(200, body=json.dumps(body).encode()))
    assert [o.kind for o in outcomes] == [K.DELIVERED, K.INVALID_HANDLE, K.INVALID_HANDLE]


def test_answers_without_a_code_follow_the_http_status() -> None:
    busy = answer(429, body=b"", headers={"Retry-After": "3"})
    (throttled,) = sender()._outcomes(["a"], busy)
    assert (throttled.kind, throttled.retry_after) == (K.THROTTLED, 3.0)
    (down,) = sender()._outcomes(["a"], answer(503, body=b'{"code":10002}'))
    assert down.kind is K.TRANSIENT


async def test_local_checks_need_no_request() -> None:
    mi = sender()
    outcomes = await mi.send(
        [
            PushMessage("not,one", b"{}"),
            PushMessage("r1", b'{"title":"t","description":"d","payload":"' + b"x" * 4096 + b'"}'),
            PushMessage("r2", b'{"title":"t"}'),
        ]
    )
    await mi.aclose()
    assert [o.kind for o in outcomes] == [K.INVALID_HANDLE, K.PAYLOAD_REJECTED, K.PAYLOAD_REJECTED]


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        (None, "https://api.xmpush.xiaomi.com"),
        ("global", "https://api.xmpush.global.xiaomi.com"),
        ("Russia", "https://ru-api.xmpush.global.xiaomi.com"),
        ("india", "https://idmb-api.xmpush.global.xiaomi.com"),
        ("singapore", "https://sgp-api.xmpush.global.xiaomi.com"),
        ("sandbox", "https://sandbox.xmpush.xiaomi.com"),
        ("https://fr-api.xmpush.global.xiaomi.com/", "https://fr-api.xmpush.global.xiaomi.com"),
    ],
)
def test_endpoints_and_region_names(endpoint: str | None, url: str) -> None:
    data = {"AppSecret": "s"} if endpoint is None else {"AppSecret": "s", "Endpoint": endpoint}
    assert xiaomi.build(data, PnsOptions())._url == url + "/v3/message/regid"


@pytest.mark.parametrize(
    "endpoint",
    ["https://xmpush.xiaomi.com.evil.example", "https://api.xmpush.xiaomi.com:8443", "ftp://x"],
)
def test_an_endpoint_off_the_allow_list_builds_no_sender(endpoint: str) -> None:
    with pytest.raises(BadRequestError):
        xiaomi.build({"AppSecret": "s", "Endpoint": endpoint}, PnsOptions())


def test_the_app_secret_is_masked() -> None:
    creds = xiaomi.XiaomiCredentials.from_dict({"AppSecret": "topsecret"})
    assert "topsecret" not in repr(creds)
    assert creds.to_dict() == {"app_secret": "topsecret", "endpoint": xiaomi.XIAOMI_ENDPOINT}
