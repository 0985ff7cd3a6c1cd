"""Tag expressions: NH's grammar, limits, DNF and the exactly-once fan-out rule."""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import BadRequestError
from shared.tags import (
    DEFAULT_MAX_TAGS,
    And,
    Conjunction,
    Expr,
    Not,
    Or,
    Tag,
    evaluate,
    first_matching_conjunction,
    is_valid_tag,
    parse,
    parse_optional,
    tags_in,
    to_dnf,
    unparse,
)

ALPHABET = ("a", "b", "c", "d", "e")
ALL_TAG_SETS = [
    frozenset(combo)
    for size in range(len(ALPHABET) + 1)
    for combo in itertools.combinations(ALPHABET, size)
]

expressions: st.SearchStrategy[Expr] = st.recursive(
    st.sampled_from(ALPHABET).map(Tag),
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: And(tuple(ops))),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=12,
)


def _matches_dnf(dnf: tuple[Conjunction, ...], tags: frozenset[str]) -> bool:
    return any(conjunction.matches(tags) for conjunction in dnf)


# --- the documented examples -------------------------------------------------------------


def test_nh_docs_example_parses_with_or_inside_and() -> None:
    expr = parse("(follows_RedSox || follows_Cardinals) && location_Boston")

    assert expr == And(
        (Or((Tag("follows_RedSox"), Tag("follows_Cardinals"))), Tag("location_Boston"))
    )
    assert evaluate(expr, frozenset({"follows_Cardinals", "location_Boston"}))
    assert not evaluate(expr, frozenset({"follows_Cardinals"}))


def test_js_sdk_example_with_not() -> None:
    expr = parse("likes_hockey && !muted")

    assert evaluate(expr, frozenset({"likes_hockey"}))
    assert not evaluate(expr, frozenset({"likes_hockey", "muted"}))


def test_js_sdk_or_join_without_spaces() -> None:
    assert parse("a||b||c") == Or((Tag("a"), Tag("b"), Tag("c")))


def test_single_tag_is_an_expression() -> None:
    assert parse("  breaking_news  ") == Tag("breaking_news")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a || b && c", Or((Tag("a"), And((Tag("b"), Tag("c")))))),
        ("!a && b", And((Not(Tag("a")), Tag("b")))),
        ("!a || b", Or((Not(Tag("a")), Tag("b")))),
        ("!(a || b)", Not(Or((Tag("a"), Tag("b"))))),
        ("!!a", Not(Not(Tag("a")))),
        ("(a && b) && c", And((Tag("a"), Tag("b"), Tag("c")))),
    ],
)
def test_precedence_not_then_and_then_or(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def test_tag_charset_is_nh_charset() -> None:
    tag = "A-z_0.9@x#y:z"

    assert parse(tag) == Tag(tag)
    assert is_valid_tag(tag)
    assert not is_valid_tag("has space")
    assert not is_valid_tag("$InstallationId:{x}")
    assert not is_valid_tag("x" * 121)


def test_system_tags_parse_and_get_canonical_prefix() -> None:
    expr = parse("$installationid:{abc-1} || $USERID:{bob@example.com}")

    assert tags_in(expr) == {"$InstallationId:{abc-1}", "$UserId:{bob@example.com}"}


def test_tag_of_120_characters_is_allowed_and_121_is_not() -> None:
    assert parse("t" * 120) == Tag("t" * 120)
    with pytest.raises(BadRequestError, match="longer than 120"):
        parse("ok && " + "t" * 121)


# --- errors name the position and what was expected ---------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "a tag, '!' or '('"),
        ("a &", 2, "'&&', '||' or the end"),
        ("a & b", 2, "'&&', '||' or the end"),
        ("a || ", 5, "a tag, '!' or '('"),
        ("(a || b", 7, "'&&', '||' or ')'"),
        ("a)", 1, "'&&', '||' or the end"),
        ("a b", 2, "'&&', '||' or the end"),
        ("$Other:{x}", 0, "a tag"),
        ("a && !", 6, "a tag"),
    ],
)
def test_syntax_errors_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse(text)

    assert f"position {position}:" in caught.value.detail
    assert f"expected {expected}" in caught.value.detail


def test_deep_nesting_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError, match="nested"):
        parse("(" * 5000 + "a" + ")" * 5000)
    with pytest.raises(BadRequestError, match="nested"):
        parse("!" * 5000 + "a")


@given(st.text())
def test_parser_raises_only_bad_request_on_arbitrary_text(text: str) -> None:
    with contextlib.suppress(BadRequestError):
        parse(text)


@given(st.text(alphabet="ab()!&| \t$:{}"))
def test_parser_raises_only_bad_request_on_operator_soup(text: str) -> None:
    try:
        expr = parse(text)
    except BadRequestError:
        return
    assert parse(unparse(expr)) == expr


# --- limits ------------------------------------------------------------------------------


def test_default_allows_twenty_tags_with_and_and_not() -> None:
    text = " && ".join(f"!t{i}" if i % 2 else f"t{i}" for i in range(DEFAULT_MAX_TAGS))

    assert len(tags_in(parse(text))) == DEFAULT_MAX_TAGS


def test_more_tags_than_max_tags_is_rejected() -> None:
    text = " || ".join(f"t{i}" for i in range(7))

    assert parse(text, max_tags=7)
    with pytest.raises(BadRequestError, match="more than 6 tags"):
        parse(text, max_tags=6)


def test_repeated_tags_count_per_occurrence() -> None:
    with pytest.raises(BadRequestError, match="more than 2 tags"):
        parse("a || a || a", max_tags=2)


def _pairs_product(pairs: int) -> Expr:
    return parse(" && ".join(f"(x{i} || y{i})" for i in range(pairs)))


def test_dnf_blow_up_is_rejected() -> None:
    expr = _pairs_product(10)  # 2**10 alternatives

    with pytest.raises(BadRequestError, match="more than 256 alternatives"):
        to_dnf(expr)
    assert len(to_dnf(expr, max_conjunctions=1024)) == 1024


def test_negated_or_of_ands_blow_up_is_rejected() -> None:
    expr = parse("!(" + " || ".join(f"(x{i} && y{i})" for i in range(10)) + ")")

    with pytest.raises(BadRequestError, match="alternatives"):
        to_dnf(expr)


def test_repeated_factor_simplifies_instead_of_blowing_up() -> None:
    expr = parse(" && ".join(["(a || b)"] * 10))

    dnf = to_dnf(expr)

    assert [sorted(c.positive) for c in dnf] == [["a"], ["b"]]


# --- DNF ---------------------------------------------------------------------------------


def test_dnf_drops_contradictions_and_subsumed_terms() -> None:
    dnf = to_dnf(parse("(a && !a) || b || (b && c) || (b && !d)"))

    assert dnf == (Conjunction(frozenset({"b"}), frozenset()),)


def test_contradiction_only_gives_empty_dnf() -> None:
    expr = parse("a && !a")

    assert to_dnf(expr) == ()
    assert first_matching_conjunction(to_dnf(expr), frozenset({"a"})) is None


def test_dnf_order_is_canonical() -> None:
    dnf = to_dnf(parse("(z && y) || !q || b"))

    assert [(sorted(c.positive), sorted(c.negative)) for c in dnf] == [
        ([], ["q"]),
        (["b"], []),
        (["y", "z"], []),
    ]


def test_dnf_order_does_not_depend_on_hash_seed() -> None:
    script = (
        "from shared.tags import parse, to_dnf\n"
        "d = to_dnf(parse('(a || b || c) && (d || !e) && (f || g || !h)'))\n"
        "print([(sorted(c.positive), sorted(c.negative)) for c in d])\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }

    assert len(outputs) == 1


@given(expressions, st.sampled_from(ALL_TAG_SETS))
def test_dnf_agrees_with_direct_evaluation(expr: Expr, tags: frozenset[str]) -> None:
    assert _matches_dnf(to_dnf(expr), tags) == evaluate(expr, tags)


@given(expressions)
def test_dnf_is_simplified(expr: Expr) -> None:
    dnf = to_dnf(expr)

    assert len(set(dnf)) == len(dnf)
    for term in dnf:
        assert term.positive.isdisjoint(term.negative)
    for left, right in itertools.permutations(dnf, 2):
        assert not (left.positive <= right.positive and left.negative <= right.negative)


@given(expressions)
def test_fan_out_reaches_each_matching_device_exactly_once(expr: Expr) -> None:
    dnf = to_dnf(expr)
    devices = ALL_TAG_SETS  # one device per possible tag set
    sends: list[frozenset[str]] = []
    for index, conjunction in enumerate(dnf):
        driver = conjunction.driver()
        scanned = [d for d in devices if driver is None or driver in d]
        sends += [d for d in scanned if first_matching_conjunction(dnf, d) == index]

    assert sorted(sends, key=sorted) == sorted(
        (d for d in devices if evaluate(expr, d)), key=sorted
    )


@given(expressions, st.sampled_from(ALL_TAG_SETS))
def test_first_matching_conjunction_is_the_first_that_matches(
    expr: Expr, tags: frozenset[str]
) -> None:
    dnf = to_dnf(expr)

    index = first_matching_conjunction(dnf, tags)

    assert (index is not None) == evaluate(expr, tags)
    if index is not None:
        assert dnf[index].matches(tags)
        assert not any(c.matches(tags) for c in dnf[:index])


@given(expressions)
def test_print_then_parse_round_trips(expr: Expr) -> None:
    parsed = parse(unparse(expr))

    assert parse(unparse(parsed)) == parsed
    assert unparse(parse(unparse(parsed))) == unparse(parsed)
    for tags in ALL_TAG_SETS:
        assert evaluate(parsed, tags) == evaluate(expr, tags)


@given(expressions)
def test_tags_in_lists_every_mentioned_tag(expr: Expr) -> None:
    assert tags_in(expr) == tags_in(parse(unparse(expr)))
    assert tags_in(expr) <= set(ALPHABET)
    assert tags_in(expr) >= {t for c in to_dnf(expr) for t in c.positive | c.negative}


# --- drivers and broadcast ---------------------------------------------------------------


def test_driver_prefers_installation_id_then_user_id_then_sorted_order() -> None:
    def driver(positive: set[str]) -> str | None:
        return Conjunction(frozenset(positive), frozenset()).driver()

    assert driver({"#b", "a", "$UserId:{u}", "$InstallationId:{i}"}) == "$InstallationId:{i}"
    assert driver({"#b", "a", "$UserId:{u}"}) == "$UserId:{u}"
    assert driver({"b", "a", "#c"}) == "#c"


def test_negative_only_conjunction_has_no_driver() -> None:
    (conjunction,) = to_dnf(parse("!muted"))

    assert conjunction.driver() is None
    assert conjunction.matches(frozenset({"anything"}))
    assert not conjunction.matches(frozenset({"muted"}))


@pytest.mark.parametrize("header", [None, "", "   "])
def test_absent_or_blank_expression_means_broadcast(header: str | None) -> None:
    assert parse_optional(header) is None


def test_parse_optional_parses_present_expression() -> None:
    assert parse_optional("a && b") == And((Tag("a"), Tag("b")))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("$InstallationId:{a/b}", "installation"),
        ("x || $installationid:{a#b}", "installation"),
        ("$InstallationId:{" + "a" * 257 + "}", "installation"),
        ("$UserId:{a/b}", "user"),
        ("$UserId:{" + "u" * 121 + "}", "user"),
    ],
)
def test_a_system_tag_must_name_an_id_the_registry_could_hold(text: str, kind: str) -> None:
    with pytest.raises(BadRequestError, match=f"not a valid {kind} id"):
        parse(text)
