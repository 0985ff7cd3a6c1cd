"""ASP.NET Core route templates, as the Functions host matches HTTP trigger routes.

Supported: literal segments (case-insensitive), ``{name}``, ``{name?}``, ``{name=default}``,
catch-all ``{*name}`` / ``{**name}``, and inline constraints such as ``{id:int}``,
``{name:alpha:minlength(2)}`` or ``{v:regex(^a.c$)}``. A segment that mixes literal text with a
parameter (``file.{ext}``) is rejected at load, loudly, rather than matched wrongly.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

_PARAM = re.compile(r"^\{(?P<star>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>.*)\}$")


class RouteTemplateError(ValueError):
    """A function.json route that this host cannot honour."""


def _is_number(value: str, kind: Callable[[str], float]) -> bool:
    try:
        return math.isfinite(kind(value))
    except ValueError:
        return False


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_SIMPLE_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
    "long": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**63) <= int(v) < 2**63,
    "bool": lambda v: v.lower() in ("true", "false"),
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "guid": _is_guid,
    "datetime": _is_datetime,
    "decimal": lambda v: _is_number(v, float),
    "double": lambda v: _is_number(v, float),
    "float": lambda v: _is_number(v, float),
    "required": lambda v: v != "",
}


def _int_args(args: str, count: int, constraint: str) -> list[int]:
    parts = [p.strip() for p in args.split(",")]
    if len(parts) != count or not all(re.fullmatch(r"-?\d+", p) for p in parts):
        raise RouteTemplateError(f"constraint {constraint!r} takes {count} integer argument(s)")
    return [int(p) for p in parts]


def _constraint(text: str) -> Callable[[str], bool]:
    """Compile one inline constraint such as ``int``, ``min(3)`` or ``regex(^a+$)``."""
    if text in _SIMPLE_CONSTRAINTS:
        return _SIMPLE_CONSTRAINTS[text]
    match = re.fullmatch(r"(\w+)\((.*)\)", text, re.DOTALL)
    if match is None:
        raise RouteTemplateError(f"unknown route constraint {text!r}")
    name, args = match.groups()
    if name == "regex":
        pattern = re.compile(args, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    if name in ("minlength", "maxlength", "min", "max"):
        (n,) = _int_args(args, 1, name)
        return {
            "minlength": lambda v: len(v) >= n,
            "maxlength": lambda v: len(v) <= n,
            "min": lambda v: re.fullmatch(r"-?\d+", v) is not None and int(v) >= n,
            "max": lambda v: re.fullmatch(r"-?\d+", v) is not None and int(v) <= n,
        }[name]
    if name in ("length", "range"):
        bounds = _int_args(args, 1 if name == "length" and "," not in args else 2, name)
        low, high = (bounds[0], bounds[0]) if len(bounds) == 1 else (bounds[0], bounds[1])
        if name == "length":
            return lambda v: low <= len(v) <= high
        return lambda v: re.fullmatch(r"-?\d+", v) is not None and low <= int(v) <= high
    raise RouteTemplateError(f"unknown route constraint {text!r}")


def _split_constraints(rest: str) -> tuple[list[str], str | None, bool]:
    """Split ``:int:min(1)?`` or ``=default`` into constraints, default and optional flag."""
    optional = rest.endswith("?")
    if optional:
        rest = rest[:-1]
    default: str | None = None
    constraints: list[str] = []
    depth = 0
    current = ""
    for char in rest:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if depth == 0 and char == ":":
            if current:
                constraints.append(current)
            current = ""
            continue
        if depth == 0 and char == "=" and default is None and not constraints and not current:
            default = ""
            continue
        if default is not None and not constraints:
            default += char
        else:
            current += char
    if current:
        constraints.append(current)
    return constraints, default, optional


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None
    name: str | None = None
    checks: tuple[Callable[[str], bool], ...] = ()
    optional: bool = False
    default: str | None = None
    catch_all: bool = False


def _parse_segment(text: str) -> _Segment:
    if "{" not in text and "}" not in text:
        return _Segment(literal=text)
    match = _PARAM.match(text)
    if match is None:
        raise RouteTemplateError(f"route segment {text!r} mixes literal text and parameters")
    constraints, default, optional = _split_constraints(match["rest"])
    return _Segment(
        name=match["name"],
        checks=tuple(_constraint(c) for c in constraints),
        optional=optional,
        default=default,
        catch_all=bool(match["star"]),
    )


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template; :meth:`match` answers the route parameters or None."""

    text: str
    segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        parts = [p for p in text.strip("/").split("/")] if text.strip("/") else []
        segments = tuple(_parse_segment(p) for p in parts)
        for index, segment in enumerate(segments):
            if segment.catch_all and index != len(segments) - 1:
                raise RouteTemplateError(f"catch-all must be the last segment in {text!r}")
            later = segments[index + 1 :]
            if (segment.optional or segment.default is not None) and any(
                s.literal is not None or not (s.optional or s.catch_all or s.default is not None)
                for s in later
            ):
                raise RouteTemplateError(f"only trailing parameters may be optional in {text!r}")
        return cls(text=text, segments=segments)

    def match(self, path: str) -> dict[str, str] | None:
        parts = path.strip("/").split("/") if path.strip("/") else []
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(unquote(p) for p in parts[index:])
                if rest:
                    values[segment.name or ""] = rest
                return values if self._checks_pass(segment, rest) else None
            if index >= len(parts):
                if segment.default is not None:
                    values[segment.name or ""] = segment.default
                elif not segment.optional:
                    return None
                continue
            value = unquote(parts[index])
            if segment.literal is not None:
                if value.lower() != segment.literal.lower():
                    return None
                continue
            if value == "" or not self._checks_pass(segment, value):
                return None
            values[segment.name or ""] = value
        return values if len(parts) <= len(self.segments) else None

    @staticmethod
    def _checks_pass(segment: _Segment, value: str) -> bool:
        if value == "":
            # An empty catch-all matches unless the template says it is required.
            return _SIMPLE_CONSTRAINTS["required"] not in segment.checks
        return all(check(value) for check in segment.checks)
