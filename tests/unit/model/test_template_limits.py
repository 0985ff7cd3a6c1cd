"""Template limits at write time: each over-limit write is a 400 naming the limit; stored rows
are read without them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.model.installation import parse_installation
from shared.model.patch import apply_patch, parse_patch
from shared.model.templates import TEMPLATE_LIMITS
from shared.templates import count_expressions

LIMITS = TEMPLATE_LIMITS
NH_PREFIX = "Installation validation failed with following error(s): "


def apns(templates: dict[str, Any]) -> dict[str, Any]:
    return {
        "installationId": "i",
        "platform": "apns",
        "pushChannel": "00fe",
        "templates": templates,
    }


def terms_body(terms: int, pad_to: int = 0) -> str:
    """A JSON body of ``terms`` ``$(a)`` terms, padded with plain text to ``pad_to`` characters."""
    body = '{"aps":{"alert":"' + "$(a)" * terms + '"}}'
    return body.replace('"}}', "x" * max(0, pad_to - len(body)) + '"}}')


def parse(data: dict[str, Any]) -> None:
    parse_installation(data, max_tags=60)


def rejection(data: dict[str, Any]) -> str:
    with pytest.raises(BadRequestError) as caught:
        parse(data)
    assert caught.value.detail.startswith(NH_PREFIX)
    return caught.value.detail


def test_a_body_at_the_limit_is_accepted_and_one_over_is_400() -> None:
    parse(apns({"t": {"body": terms_body(1, pad_to=LIMITS.body)}}))

    detail = rejection(apns({"t": {"body": terms_body(1, pad_to=LIMITS.body + 1)}}))

    assert f"templates['t'].body is {LIMITS.body + 1} characters long" in detail
    assert f"at most {LIMITS.body}" in detail


def test_expressions_are_counted_over_body_headers_and_expiry() -> None:
    headers = {"apns-collapse-id": "$(a)", "apns-priority": "#(p)"}
    body_terms = LIMITS.expressions - 3
    fits = {"body": terms_body(body_terms), "headers": headers, "expiry": "%(when)"}
    parse(apns({"t": fits}))

    detail = rejection(apns({"t": {**fits, "body": terms_body(body_terms + 1)}}))

    assert f"templates['t'] has {LIMITS.expressions + 1} expressions" in detail
    assert f"at most {LIMITS.expressions} in its body, headers and expiry together" in detail


def test_a_long_header_value_is_400() -> None:
    headers = {"X-WNS-Type": "wns/raw", "X-WNS-Tag": "x" * (LIMITS.header_value + 1)}
    data = {
        "installationId": "i",
        "platform": "wns",
        "pushChannel": "https://dm3p.notify.windows.com/?token=a",
        "templates": {"t": {"body": "raw", "headers": headers}},
    }

    detail = rejection(data)

    assert "templates['t'].headers['X-WNS-Tag']" in detail
    assert f"at most {LIMITS.header_value}" in detail


def test_an_installations_templates_together_are_limited_in_size() -> None:
    rest = LIMITS.installation_bodies - LIMITS.body
    fits = {"a": {"body": terms_body(1, LIMITS.body)}, "b": {"body": terms_body(1, rest)}}
    parse(apns(fits))

    detail = rejection(apns({**fits, "c": {"body": "{}"}}))

    assert f"together are {LIMITS.installation_bodies + 2} characters long" in detail
    assert f"at most {LIMITS.installation_bodies}" in detail


def test_an_installations_templates_together_are_limited_in_expressions() -> None:
    each = LIMITS.expressions
    count = LIMITS.installation_expressions // each
    fits = {f"t{n}": {"body": terms_body(each)} for n in range(count)}
    parse(apns(fits))

    detail = rejection(apns({**fits, "extra": {"body": terms_body(1)}}))

    assert f"together have {LIMITS.installation_expressions + 1} expressions" in detail


def test_secondary_tile_templates_count_toward_the_installation() -> None:
    toast = "<toast>" + "$(a)" * LIMITS.expressions + "</toast>"
    template = {"body": toast, "headers": {"X-WNS-Type": "wns/toast"}}
    tiles = {
        f"tile{n}": {"pushChannel": "https://dm3p.notify.windows.com/?token=t", "templates": {}}
        for n in range(LIMITS.installation_expressions // LIMITS.expressions)
    }
    for tile in tiles.values():
        tile["templates"] = {"t": template}
    data = {
        "installationId": "i",
        "platform": "wns",
        "pushChannel": "https://dm3p.notify.windows.com/?token=a",
        "secondaryTiles": tiles,
    }
    parse(data)

    detail = rejection({**data, "templates": {"own": template}})

    assert "templates together have" in detail


def test_stored_rows_are_read_without_the_limits() -> None:
    data = apns({"t": {"body": terms_body(LIMITS.body // 4)}})

    stored = parse_installation(data, max_tags=60, template_limits=None)

    assert stored.templates["t"].expressions == LIMITS.body // 4
    with pytest.raises(BadRequestError):
        parse(data)


def test_a_patch_is_held_to_the_limits_as_a_put_is() -> None:
    installation = parse_installation(apns({"t": {"body": terms_body(1)}}), max_tags=60)
    added = {"body": terms_body(LIMITS.expressions + 1)}
    operations = parse_patch([{"op": "add", "path": "/templates/big", "value": added}])

    over = rf"templates\['big'\] has {LIMITS.expressions + 1} expressions"
    with pytest.raises(BadRequestError, match=over):
        apply_patch(installation, operations, max_tags=60)


@given(st.lists(st.sampled_from(["$(a)", ".(b, 3)", "%(c)", "#(d)", "x", "(", "$", "{"])))
def test_count_expressions_counts_each_term_opening(parts: list[str]) -> None:
    text = "".join(parts)

    assert count_expressions(text) == sum(text.count(op + "(") for op in "$.%#")
