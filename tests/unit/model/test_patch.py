"""JSON Patch on installations: NH's paths and semantics, re-validation, and fuzzing."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.model.strategies import installations, tags

from shared.errors import BadRequestError
from shared.model.installation import Installation, parse_installation
from shared.model.patch import PatchOp, apply_patch, parse_patch

MAX_TAGS = 60
BASE = parse_installation(
    {
        "installationId": "inst-1",
        "platform": "apns",
        "pushChannel": "00fe",
        "tags": ["likes_hockey"],
        "templates": {"t1": {"body": '{"aps":{"alert":"$(m)"}}', "tags": ["tt"]}},
    },
    max_tags=MAX_TAGS,
)


def patch(operations: object, installation: Installation = BASE) -> Installation:
    return apply_patch(installation, parse_patch(operations), max_tags=MAX_TAGS)


def test_js_sdk_add_tag_example() -> None:
    result = patch([{"op": "add", "path": "/tags", "value": "likes_football"}])
    assert result.tags == ("likes_football", "likes_hockey")


def test_add_tags_array_merges_and_replace_sets() -> None:
    assert patch([{"op": "add", "path": "/tags", "value": ["a", "likes_hockey"]}]).tags == (
        "a",
        "likes_hockey",
    )
    assert patch([{"op": "replace", "path": "/tags", "value": ["z"]}]).tags == ("z",)
    assert patch([{"op": "add", "path": "/tags/-", "value": "y"}]).tags == ("likes_hockey", "y")
    assert patch([{"op": "add", "path": "/tags", "value": '["a","b"]'}]).tags == (
        "a",
        "b",
        "likes_hockey",
    )


def test_remove_a_tag_by_name_and_missing_tags_are_a_no_op() -> None:
    assert patch([{"op": "remove", "path": "/tags/likes_hockey"}]).tags == ()
    assert patch([{"op": "remove", "path": "/tags/never_there"}]) == BASE
    assert patch([{"op": "remove", "path": "/tags"}]).tags == ()


def test_user_id_add_replace_remove_like_the_dotnet_tests() -> None:
    added = patch([{"op": "add", "path": "/userId", "value": "u1"}])
    assert added.user_id == "u1"
    assert patch([{"op": "replace", "path": "/userId", "value": "u2"}], added).user_id == "u2"
    assert patch([{"op": "remove", "path": "/userId"}], added).user_id is None


def test_dotnet_sends_a_whole_template_as_json_text() -> None:
    template = json.dumps({"body": '{"aps":{"badge":"#(n)"}}', "tags": ["x"]})
    result = patch([{"op": "add", "path": "/templates/New Template", "value": template}])
    assert result.templates["New Template"].tags == ("x",)
    assert "New Template" in result.all_tags


def test_template_members_and_template_tags() -> None:
    result = patch(
        [
            {"op": "replace", "path": "/templates/t1/body", "value": '{"aps":{}}'},
            {"op": "add", "path": "/templates/t1/headers", "value": '{"apns-priority":"5"}'},
            {"op": "add", "path": "/templates/t1/expiry", "value": "$(exp)"},
            {"op": "add", "path": "/templates/t1/tags", "value": "more"},
            {"op": "remove", "path": "/templates/t1/tags/tt"},
        ]
    )
    template = result.templates["t1"]
    assert (template.body, dict(template.headers), template.expiry, template.tags) == (
        '{"aps":{}}',
        {"apns-priority": "5"},
        "$(exp)",
        ("more",),
    )
    assert patch([{"op": "remove", "path": "/templates/t1"}]).templates == {}
    assert patch([{"op": "remove", "path": "/templates/absent"}]) == BASE


def test_template_names_use_json_pointer_escapes() -> None:
    value = {"body": "{}"}
    result = patch([{"op": "add", "path": "/templates/a~1b~0c", "value": value}])
    assert "a/b~c" in result.templates


def test_push_variables_and_expiration() -> None:
    result = patch(
        [
            {"op": "add", "path": "/pushVariables/var1", "value": "value1"},
            {"op": "add", "path": "/expirationTime", "value": "2030-01-01T00:00:00"},
        ]
    )
    assert dict(result.push_variables) == {"var1": "value1"}
    assert result.expiration_time is not None
    assert result.expiration_time.year == 2030
    assert patch([{"op": "remove", "path": "/expirationTime"}], result).expiration_time is None


def test_changing_the_channel_clears_the_expired_flag() -> None:
    expired = parse_installation({**BASE.to_wire(), "pushChannelExpired": True}, max_tags=MAX_TAGS)
    assert (
        patch([{"op": "add", "path": "/pushChannel", "value": "00ff"}], expired).push_channel
        == "00ff"
    )
    assert not patch(
        [{"op": "add", "path": "/pushChannel", "value": "00ff"}], expired
    ).push_channel_expired
    assert patch([{"op": "add", "path": "/tags", "value": "a"}], expired).push_channel_expired


def test_field_names_and_ops_are_case_insensitive() -> None:
    assert patch([{"op": "Add", "path": "/PushChannel", "value": "00aa"}]).push_channel == "00aa"


@pytest.mark.parametrize(
    ("operations", "reason"),
    [
        ({"op": "add"}, "JSON array"),
        ([1], "must be an object"),
        ([{"op": "move", "path": "/tags", "from": "/x"}], "not supported"),
        ([{"op": "test", "path": "/tags", "value": []}], "not supported"),
        ([{"op": "add", "path": "/tags"}], "needs a value"),
        ([{"op": "add", "value": "x"}], "'op' and 'path'"),
        ([{"op": "add", "path": "tags", "value": "x"}], "JSON Pointer"),
        ([{"op": "add", "path": "", "value": "x"}], "JSON Pointer"),
        ([{"op": "add", "path": "/tags/", "value": "x"}], "empty segment"),
        ([{"op": "replace", "path": "/platform", "value": "wns"}], "not supported"),
        ([{"op": "replace", "path": "/installationId", "value": "x"}], "not supported"),
        ([{"op": "add", "path": "/tags/a/b", "value": "x"}], "not supported"),
        ([{"op": "add", "path": "/tags/a", "value": "a"}], "single tag"),
        ([{"op": "add", "path": "/templates/absent/body", "value": "{}"}], "does not exist"),
        ([{"op": "remove", "path": "/pushChannel"}], "pushChannel is required"),
        ([{"op": "add", "path": "/tags", "value": "bad tag"}], "invalid tag"),
        ([{"op": "add", "path": "/templates/t2", "value": "{not json"}], "not valid JSON"),
        ([{"op": "replace", "path": "/templates/t1/body", "value": "nope"}], "not valid JSON"),
    ],
)
def test_bad_patches_are_400(operations: object, reason: str) -> None:
    with pytest.raises(BadRequestError, match=reason):
        patch(operations)


def test_a_failing_patch_leaves_the_original_untouched() -> None:
    before = BASE.to_wire()
    with pytest.raises(BadRequestError):
        patch(
            [
                {"op": "add", "path": "/tags", "value": "ok"},
                {"op": "add", "path": "/tags", "value": "$x"},
            ]
        )
    assert BASE.to_wire() == before


@settings(deadline=None)
@given(installations(), tags)
def test_add_then_remove_of_a_new_tag_gives_back_the_original(
    installation: Installation, tag: str
) -> None:
    if tag in installation.tags:
        return
    added = apply_patch(
        installation, parse_patch([{"op": "add", "path": "/tags", "value": tag}]), max_tags=1000
    )
    assert tag in added.tags
    removed = apply_patch(
        added, parse_patch([{"op": "remove", "path": f"/tags/{tag}"}]), max_tags=1000
    )
    assert removed == installation


_TEXT = st.text(max_size=20) | st.text(
    alphabet=st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, exclude_categories=()),
    max_size=4,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
_PATHS = (
    st.sampled_from(
        [
            "/tags",
            "/tags/-",
            "/tags/likes_hockey",
            "/userId",
            "/pushChannel",
            "/expirationTime",
            "/templates",
            "/templates/t1",
            "/templates/t1/body",
            "/templates/t1/headers",
            "/templates/t1/headers/h",
            "/templates/t1/tags",
            "/templates/t1/tags/tt",
            "/templates/x/y",
            "/pushVariables",
            "/pushVariables/v",
            "/secondaryTiles",
            "/secondaryTiles/s/pushChannel",
        ]
    )
    | _TEXT.map("/templates/".__add__)
    | st.text(max_size=20)
)
_OPERATIONS = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from([*PatchOp, "move", "Add"]) | _JSON, "path": _PATHS},
        optional={"value": _JSON},
    ),
    max_size=4,
)


@settings(deadline=None)
@given(st.one_of(_JSON, _OPERATIONS))
def test_no_patch_raises_anything_but_bad_request(operations: object) -> None:
    with contextlib.suppress(BadRequestError):
        patch(operations)
