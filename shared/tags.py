"""NH tag expressions: parse, evaluate, and reduce to a disjunctive normal form for fan-out.

Grammar (whitespace is allowed between tokens; ``!`` binds tightest, then ``&&``, then ``||``)::

    or_expr  := and_expr ("||" and_expr)*
    and_expr := unary ("&&" unary)*
    unary    := "!" unary | primary
    primary  := TAG | "(" or_expr ")"

A TAG is 1 to 120 characters of ``[A-Za-z0-9_@#.:-]``, or one of the system tags
``$InstallationId:{...}`` and ``$UserId:{...}`` (prefix matched case-insensitively and returned
in that canonical spelling). Syntax errors raise :class:`BadRequestError` naming the 0-based
character position in the expression text and what was expected there.

A send without a tag expression is a broadcast: callers turn the optional header into
``Expr | None`` with :func:`parse_optional`, where ``None`` means every installation.

The tag set a device is evaluated against is its own tags plus its system tags; building that
set is the caller's job. Matching is case-sensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NoReturn

from shared.errors import BadRequestError
from shared.model.validation import is_installation_id, is_user_id

MAX_TAG_LENGTH = 120
DEFAULT_MAX_TAGS = 20
DEFAULT_MAX_CONJUNCTIONS = 256

INSTALLATION_ID_PREFIX = "$InstallationId:"
USER_ID_PREFIX = "$UserId:"

_PLAIN_TAG = re.compile(r"[A-Za-z0-9_@#.:\-]+")
_SYSTEM_TAG = re.compile(r"\$(InstallationId|UserId):\{([^{}\s]+)\}", re.IGNORECASE)
_SPACE = re.compile(r"\s*")
_CANONICAL_PREFIX = {"installationid": INSTALLATION_ID_PREFIX, "userid": USER_ID_PREFIX}
# A system tag names an installation or a user only if the registry could hold that id.
_SYSTEM_ID_CHECKS = {"installationid": is_installation_id, "userid": is_user_id}
_OPERAND = "a tag, '!' or '('"
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Tag:
    """A single tag: true when the device carries it."""

    name: str

    def _evaluate(self, tags: Container[str]) -> bool:
        return self.name in tags


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr

    def _evaluate(self, tags: Container[str]) -> bool:
        return not self.operand._evaluate(tags)


@dataclass(frozen=True, slots=True)
class And:
    """Two or more operands, all of which must hold (the parser flattens ``a && b && c``)."""

    operands: tuple[Expr, ...]

    def _evaluate(self, tags: Container[str]) -> bool:
        # A loop, not all(): no generator per node on the per-device hot path.
        for operand in self.operands:  # noqa: SIM110
            if not operand._evaluate(tags):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Or:
    """Two or more operands, one of which must hold (the parser flattens ``a || b || c``)."""

    operands: tuple[Expr, ...]

    def _evaluate(self, tags: Container[str]) -> bool:
        for operand in self.operands:  # noqa: SIM110  (as And: no generator)
            if operand._evaluate(tags):
                return True
        return False


Expr = Tag | Not | And | Or


@dataclass(frozen=True, slots=True)
class Conjunction:
    """One term of a DNF: every ``positive`` tag present and no ``negative`` tag present."""

    positive: frozenset[str]
    negative: frozenset[str]

    def matches(self, tags: AbstractSet[str]) -> bool:
        return self.positive <= tags and self.negative.isdisjoint(tags)

    def driver(self) -> str | None:
        """The positive tag to scan by, or None when only a scan of all installations will do.

        An ``$InstallationId`` tag wins (a point read), then a ``$UserId`` tag (a handful of
        devices), then the smallest tag in code-point order: deterministic in every process.
        """
        if not self.positive:
            return None
        return min(self.positive, key=_driver_rank)

    def _sort_key(self) -> tuple[int, list[str], list[str]]:
        return (
            len(self.positive) + len(self.negative),
            sorted(self.positive),
            sorted(self.negative),
        )


def is_valid_tag(tag: str) -> bool:
    """True when ``tag`` may be stored on an installation (NH charset and length, no ``$``)."""
    return len(tag) <= MAX_TAG_LENGTH and _PLAIN_TAG.fullmatch(tag) is not None


def parse(expr: str, *, max_tags: int = DEFAULT_MAX_TAGS) -> Expr:
    """Parse a tag expression; raise BadRequestError on bad syntax or more than ``max_tags`` tags.

    Tags are counted per occurrence, as NH counts them. NH allows 20 tags in an OR-only
    expression and 6 otherwise; Herald allows ``max_tags`` whatever the operators, and bounds
    the cost of mixed operators with ``to_dnf``'s ``max_conjunctions`` instead.
    """
    return _Parser(expr, max_tags).parse()


def parse_optional(expr: str | None, *, max_tags: int = DEFAULT_MAX_TAGS) -> Expr | None:
    """Parse an optional expression: None or blank text means broadcast and gives None."""
    if expr is None or not expr.strip():
        return None
    return parse(expr, max_tags=max_tags)


def evaluate(expr: Expr, tags: Container[str]) -> bool:
    """Evaluate the expression against a device's tags (a method per node: fast). Only ``in``
    is asked of ``tags``, so it may answer each tag as asked instead of being built first."""
    return expr._evaluate(tags)


def tags_in(expr: Expr) -> frozenset[str]:
    """Every tag the expression mentions, negated or not."""
    match expr:
        case Tag(name):
            return frozenset((name,))
        case Not(operand):
            return tags_in(operand)
        case And(operands) | Or(operands):
            return frozenset().union(*(tags_in(op) for op in operands))


def unparse(expr: Expr) -> str:
    """Print with the fewest parentheses; ``parse(unparse(e)) == e`` for every ``e`` from parse."""
    match expr:
        case Tag(name):
            return name
        case Not(operand):
            inner = unparse(operand)
            return f"!{inner}" if isinstance(operand, Tag | Not) else f"!({inner})"
        case And(operands):
            return " && ".join(
                f"({unparse(op)})" if isinstance(op, Or | And) else unparse(op) for op in operands
            )
        case Or(operands):
            return " || ".join(
                f"({unparse(op)})" if isinstance(op, Or) else unparse(op) for op in operands
            )


def to_dnf(
    expr: Expr, *, max_conjunctions: int = DEFAULT_MAX_CONJUNCTIONS
) -> tuple[Conjunction, ...]:
    """The simplified DNF of ``expr``, in a canonical order that is the same in every process.

    Contradictory conjunctions (``a && !a``) are dropped, duplicates merged and conjunctions
    implied by a weaker one removed. An empty tuple means nothing can match. Raises
    BadRequestError when the DNF, or any intermediate DNF while computing it, has more than
    ``max_conjunctions`` terms, so an adversarial expression cannot exhaust memory or CPU.
    """
    # _simplify sorts by Conjunction._sort_key, so the order never depends on set iteration.
    return tuple(_dnf(expr, negated=False, limit=max_conjunctions))


def first_matching_conjunction(dnf: Sequence[Conjunction], tags: AbstractSet[str]) -> int | None:
    """Index of the first conjunction that matches, or None.

    Exactly-once fan-out: a device found while scanning conjunction i is sent to only when this
    returns i.
    """
    for index, conjunction in enumerate(dnf):
        if conjunction.positive <= tags and conjunction.negative.isdisjoint(tags):
            return index
    return None


def _driver_rank(tag: str) -> tuple[int, str]:
    if tag.startswith(INSTALLATION_ID_PREFIX):
        return (0, tag)
    if tag.startswith(USER_ID_PREFIX):
        return (1, tag)
    return (2, tag)


def _dnf(expr: Expr, *, negated: bool, limit: int) -> list[Conjunction]:
    match expr:
        case Tag(name):
            single = frozenset((name,))
            if negated:
                return [Conjunction(frozenset(), single)]
            return [Conjunction(single, frozenset())]
        case Not(operand):
            return _dnf(operand, negated=not negated, limit=limit)
        case And(operands) | Or(operands):
            parts = [_dnf(op, negated=negated, limit=limit) for op in operands]
            # De Morgan: a negated AND is an OR of negations, and the other way round.
            if isinstance(expr, And) != negated:
                return _product(parts, limit)
            return _simplify((term for part in parts for term in part), limit)


def _product(parts: list[list[Conjunction]], limit: int) -> list[Conjunction]:
    acc = parts[0]
    for part in parts[1:]:
        combined = (
            Conjunction(left.positive | right.positive, left.negative | right.negative)
            for left in acc
            for right in part
        )
        acc = _simplify(combined, limit)
    return acc


def _simplify(terms: Iterable[Conjunction], limit: int) -> list[Conjunction]:
    # Both inputs are at most `limit` long, so this set holds at most limit**2 terms.
    unique = {t for t in terms if t.positive.isdisjoint(t.negative)}
    if len(unique) > limit:
        raise BadRequestError(
            f"The tag expression expands to more than {limit} alternatives; simplify it"
        )
    kept: list[Conjunction] = []
    for term in sorted(unique, key=Conjunction._sort_key):
        # Sorted by size, so any weaker term that implies this one is already kept.
        if not any(k.positive <= term.positive and k.negative <= term.negative for k in kept):
            kept.append(term)
    return kept


class _Parser:
    """Recursive descent over the raw text; positions in errors are 0-based offsets."""

    def __init__(self, text: str, max_tags: int) -> None:
        self._text = text
        self._max_tags = max_tags
        self._pos = 0
        self._depth = 0
        self._tag_count = 0

    def parse(self) -> Expr:
        tree = self._or()
        self._skip_space()
        if self._pos < len(self._text):
            self._fail("'&&', '||' or the end of the expression")
        return tree

    def _or(self) -> Expr:
        operands = [self._and()]
        while self._accept("||"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(_flatten(operands, Or))

    def _and(self) -> Expr:
        operands = [self._unary()]
        while self._accept("&&"):
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else And(_flatten(operands, And))

    def _unary(self) -> Expr:
        if self._accept("!"):
            return Not(self._nested(self._unary))
        if self._accept("("):
            inner = self._nested(self._or)
            if not self._accept(")"):
                self._fail("'&&', '||' or ')'")
            return inner
        return self._tag()

    def _nested(self, rule: Callable[[], Expr]) -> Expr:
        # Bounded so deep nesting is a 400, not a RecursionError.
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise BadRequestError(
                f"Invalid tag expression at position {self._pos}: "
                f"more than {_MAX_DEPTH} nested '!' or '('"
            )
        inner = rule()
        self._depth -= 1
        return inner

    def _tag(self) -> Tag:
        self._skip_space()
        start = self._pos
        match = _SYSTEM_TAG.match(self._text, start) or _PLAIN_TAG.match(self._text, start)
        if match is None:
            self._fail(_OPERAND)
        name = match.group()
        if match.re is _SYSTEM_TAG:
            kind, ident = match.group(1).lower(), match.group(2)
            if not _SYSTEM_ID_CHECKS[kind](ident):
                shown = ident if len(ident) <= 40 else ident[:37] + "..."
                raise BadRequestError(
                    f"Invalid tag expression: {shown!r} at position {start} is not a valid "
                    f"{'installation' if kind == 'installationid' else 'user'} id"
                )
            name = _CANONICAL_PREFIX[kind] + name[name.index(":") + 1 :]
        elif len(name) > MAX_TAG_LENGTH:
            raise BadRequestError(
                f"Invalid tag expression: the tag at position {start} is longer than "
                f"{MAX_TAG_LENGTH} characters"
            )
        self._tag_count += 1
        if self._tag_count > self._max_tags:
            raise BadRequestError(
                f"Invalid tag expression: more than {self._max_tags} tags "
                f"(tag {self._tag_count} is at position {start})"
            )
        self._pos = match.end()
        return Tag(name)

    def _accept(self, token: str) -> bool:
        self._skip_space()
        if self._text.startswith(token, self._pos):
            self._pos += len(token)
            return True
        return False

    def _skip_space(self) -> None:
        match = _SPACE.match(self._text, self._pos)
        if match is not None:
            self._pos = match.end()

    def _fail(self, expected: str) -> NoReturn:
        if self._pos >= len(self._text):
            found = "the end of the expression"
        else:
            found = repr(self._text[self._pos])
        raise BadRequestError(
            f"Invalid tag expression at position {self._pos}: expected {expected}, found {found}"
        )


def _flatten(operands: list[Expr], kind: type[And] | type[Or]) -> tuple[Expr, ...]:
    """Merge nested operands of the same kind, so ``(a && b) && c`` is one three-way And."""
    flat: list[Expr] = []
    for op in operands:
        if isinstance(op, kind):
            flat.extend(op.operands)
        else:
            flat.append(op)
    return tuple(flat)
