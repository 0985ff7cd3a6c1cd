"""The function.json checker itself: broken folders are reported, route overlaps are found."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.check_function_json import check_function_folder, check_routes, routes_collide

_HTTP_HANDLER = "async def main(req):\n    return 1\n"


def _folder(root: Path, name: str, bindings: list[dict[str, object]], handler: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "function.json").write_text(json.dumps({"bindings": bindings}), encoding="utf-8")
    (folder / "__init__.py").write_text(handler, encoding="utf-8")
    return folder


def _http(route: str, methods: list[str] | None = None) -> list[dict[str, object]]:
    trigger: dict[str, object] = {
        "type": "httpTrigger",
        "direction": "in",
        "name": "req",
        "authLevel": "anonymous",
        "route": route,
    }
    if methods is not None:
        trigger["methods"] = methods
    return [trigger, {"type": "http", "direction": "out", "name": "$return"}]


_QUEUE: dict[str, object] = {
    "type": "queueTrigger",
    "direction": "in",
    "name": "msg",
    "queueName": "fanout",
    "connection": "AzureWebJobsStorage",
}


def test_a_good_folder_has_no_problems(tmp_path: Path) -> None:
    out: dict[str, object] = {
        "type": "queue",
        "direction": "out",
        "name": "fanout",
        "queueName": "fanout",
        "connection": "AzureWebJobsStorage",
    }
    handler = (
        "async def main(req, fanout, context):\n    def inner():\n        return 2\n    return 1\n"
    )
    assert check_function_folder(_folder(tmp_path, "ok", [*_http("x"), out], handler)) == []


@pytest.mark.parametrize(
    ("bindings", "handler", "expected"),
    [
        ([{**_QUEUE, "type": "serviceBusTrigger"}], "def main(msg): pass", "unknown type"),
        ([{**_QUEUE, "direction": "out"}], "def main(msg): pass", "must have direction in"),
        ([{**_QUEUE, "connection": ""}], "def main(msg): pass", "needs 'connection'"),
        (
            [{k: v for k, v in _QUEUE.items() if k != "queueName"}],
            "def main(msg): pass",
            "needs 'queueName'",
        ),
        ([{**_QUEUE, "queueName": "Fan_Out"}], "def main(msg): pass", "not a valid queue name"),
        (
            [_QUEUE, {**_QUEUE, "name": "other"}],
            "def main(msg, other): pass",
            "exactly one trigger",
        ),
        (
            [{**_QUEUE, "type": "queue", "direction": "out"}],
            "def main(msg): pass",
            "exactly one trigger",
        ),
        ([_QUEUE], "def main(message): pass", "binding 'msg' has no parameter"),
        ([_QUEUE], "def main(msg, extra): pass", "parameter 'extra' of main() matches no binding"),
        ([_QUEUE], "def main(msg):\n    return 3\n", "there is no $return binding"),
        ([_QUEUE], "def handler(msg): pass", "no top-level function 'main'"),
        ([_QUEUE], "def main(*args): pass", "*args"),
        ([_QUEUE], "def main(msg:\n", "cannot be parsed"),
        (
            [{"type": "timerTrigger", "direction": "in", "name": "timer"}],
            "def main(timer): pass",
            "needs 'schedule'",
        ),
        (
            [
                {
                    "type": "timerTrigger",
                    "direction": "in",
                    "name": "timer",
                    "schedule": "*/5 * * * *",
                }
            ],
            "def main(timer): pass",
            "six-field NCRONTAB",
        ),
        (
            [{k: v for k, v in _http("x")[0].items() if k != "authLevel"}, _http("x")[1]],
            _HTTP_HANDLER,
            "needs 'authLevel'",
        ),
        ([_http("x")[0]], _HTTP_HANDLER, "needs an http output binding"),
        (
            [{**_http("x")[0], "authLevel": "public"}, _http("x")[1]],
            _HTTP_HANDLER,
            "authLevel must be one of",
        ),
        (_http("x"), "async def main(req):\n    return None\n", "returns nothing"),
        (_http("x", ["GET", "FETCH"]), _HTTP_HANDLER, "not a list of HTTP methods"),
        ([*_http("x"), {**_http("x")[1], "name": "$return"}], _HTTP_HANDLER, "used twice"),
    ],
)
def test_the_checker_reports_a_broken_folder(
    tmp_path: Path, bindings: list[dict[str, object]], handler: str, expected: str
) -> None:
    problems = check_function_folder(_folder(tmp_path, "broken", bindings, handler))
    assert any(expected in p for p in problems), problems


def test_the_checker_reports_unreadable_json(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "function.json").write_text("{not json", encoding="utf-8")
    assert "cannot be read" in check_function_folder(folder)[0]


@pytest.mark.parametrize(
    ("first", "second", "collide"),
    [
        ("{hub}/installations/{id?}", "{hub}/installations", True),
        ("{hub}/installations/{id}", "{hub}/installations", False),
        ("{hub}/messages/{*path}", "{hub}/messages", True),
        ("{hub}/messages/{*path}", "{hub}/messages/a/b/c", True),
        ("{hub}/messages/{*path}", "{hub}/installations/{id?}", False),
        ("{hub}/messages/$batch", "{hub}/messages/{id}", True),
        ("health", "{hub}/installations/{id?}", False),
        ("health", "{hub}", True),
        ("Health", "health", True),
        ("files/{name}.json", "files/readme.json", True),
        ("files/{name}.json", "files/readme.txt", False),
        ("{*all}", "a/b/{c?}", True),
        ("a/{x:int}/b", "a/{y}/c", False),
    ],
)
def test_routes_collide(first: str, second: str, collide: bool) -> None:
    assert routes_collide(first, second) is collide
    assert routes_collide(second, first) is collide


def test_check_routes_names_both_folders_and_the_methods(tmp_path: Path) -> None:
    one = _folder(tmp_path, "one", _http("{hub}/messages/{id?}", ["get", "post"]), _HTTP_HANDLER)
    two = _folder(tmp_path, "two", _http("{hub}/messages", ["post"]), _HTTP_HANDLER)
    three = _folder(tmp_path, "three", _http("{hub}/messages", ["delete"]), _HTTP_HANDLER)
    assert check_routes([one, two, three], "") == [
        "one: route '{hub}/messages/{id?}' collides with two: '{hub}/messages' for POST"
    ]


def test_check_routes_treats_missing_methods_as_all(tmp_path: Path) -> None:
    one = _folder(tmp_path, "one", _http("{hub}"), _HTTP_HANDLER)
    two = _folder(tmp_path, "two", _http("health", ["get"]), _HTTP_HANDLER)
    assert len(check_routes([one, two], "")) == 1


def test_a_fallback_route_may_overlap_the_routes_tried_before_it(tmp_path: Path) -> None:
    health = _folder(tmp_path, "health", _http("health", ["get"]), _HTTP_HANDLER)
    messages = _folder(tmp_path, "Messages", _http("{hub}/messages/{*path}"), _HTTP_HANDLER)
    fallback = _folder(tmp_path, "unmatched", _http("{*path}"), _HTTP_HANDLER)
    assert check_routes([fallback, messages, health], "") == []


def test_a_catch_all_tail_may_overlap_a_more_specific_route_tried_before_it(
    tmp_path: Path,
) -> None:
    events = _http("{hub}/messages/{notificationId}/events", ["post"])
    messages = _http("{hub}/messages/{*path}", ["get", "post"])
    before = _folder(tmp_path / "a", "message_events", events, _HTTP_HANDLER)
    tail = _folder(tmp_path / "a", "send_notification", messages, _HTTP_HANDLER)
    assert check_routes([tail, before], "") == []
    after = _folder(tmp_path / "b", "zz_events", events, _HTTP_HANDLER)
    first = _folder(tmp_path / "b", "send_notification", messages, _HTTP_HANDLER)
    assert check_routes([first, after], "") == [
        "send_notification: route '{hub}/messages/{*path}' collides with zz_events: "
        "'{hub}/messages/{notificationId}/events' for POST"
    ]


def test_a_fallback_route_tried_first_would_hide_the_others(tmp_path: Path) -> None:
    """The host tries routes in function-name order, case-insensitively, not by specificity."""
    fallback = _folder(tmp_path, "any_path", _http("{*path}"), _HTTP_HANDLER)
    health = _folder(tmp_path, "Health", _http("health", ["get"]), _HTTP_HANDLER)
    assert check_routes([health, fallback], "") == [
        "any_path: the fallback route '{*path}' hides Health: 'health'; the host tries routes "
        "in function-name order, so the fallback's folder must sort after it"
    ]


def test_check_routes_rejects_host_reserved_paths(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "admin_api", _http("admin/things"), _HTTP_HANDLER)
    assert check_routes([folder], "") == ["admin_api: route 'admin/things' is reserved by the host"]


# A reference: turn a template into a regex over whole paths and try concrete paths on both.
_WORDS = st.sampled_from(["a", "b", "hub", "messages", "x1"])
_TEMPLATE_SEGMENT = st.one_of(
    _WORDS, st.just("{p}"), st.just("{q?}"), st.just("{*rest}"), _WORDS.map(lambda w: f"{w}{{n}}")
)


_PARAM = re.compile(r"\{([^{}]*)\}")


def _template_regex(template: str) -> re.Pattern[str]:
    """An independent reference: the whole template as one regex over paths."""
    parts = []
    for seg in template.split("/"):
        whole = _PARAM.fullmatch(seg)
        if whole and whole.group(1).startswith("*"):
            parts.append("(?:/[^/]+)*")
        elif whole and whole.group(1).endswith("?"):
            parts.append("(?:/[^/]+)?")
        else:
            regex = "".join(
                "[^/]+" if i % 2 else re.escape(p) for i, p in enumerate(_PARAM.split(seg))
            )
            parts.append("/" + regex)
    return re.compile("".join(parts), re.IGNORECASE)


@given(
    st.lists(_TEMPLATE_SEGMENT, min_size=1, max_size=4).map("/".join),
    st.lists(_TEMPLATE_SEGMENT, min_size=1, max_size=4).map("/".join),
    st.lists(_WORDS, max_size=5).map(lambda ws: "".join("/" + w for w in ws)),
)
def test_a_path_matching_both_templates_is_always_reported(
    first: str, second: str, path: str
) -> None:
    if _template_regex(first).fullmatch(path) and _template_regex(second).fullmatch(path):
        assert routes_collide(first, second)
    assert routes_collide(first, second) == routes_collide(second, first)
