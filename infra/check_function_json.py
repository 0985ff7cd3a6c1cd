"""The rules a function folder must follow, checked from its files alone.

function.json is read as JSON, the handler with ``ast`` (importing it would run its imports),
and host.json for the route prefix. Every problem is one sentence; an empty list means fine.
tests/infra runs it over the repo's folders; ``python -m infra.check_function_json [ROOT]``
prints the problems of a tree and exits 1 if there are any.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

# binding type -> the directions it may have (Python v1 model, the bindings Herald may use).
_DIRECTIONS = {
    "httpTrigger": {"in"},
    "queueTrigger": {"in"},
    "timerTrigger": {"in"},
    "blobTrigger": {"in"},
    "http": {"out"},
    "queue": {"out"},
    "table": {"in", "out"},
    "blob": {"in", "out"},
}
# Keys a binding of that type cannot do without.
_REQUIRED = {
    "queueTrigger": ("queueName", "connection"),
    "queue": ("queueName", "connection"),
    "timerTrigger": ("schedule",),
    "httpTrigger": ("authLevel",),
    "table": ("tableName",),
    "blob": ("path",),
    "blobTrigger": ("path",),
}
_AUTH_LEVELS = {"anonymous", "function", "admin"}
_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
_QUEUE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_SETTING_REF = re.compile(r"%[A-Za-z0-9_.:-]+%")
# The host serves its own APIs under these first segments whatever the route prefix.
_HOST_RESERVED = {"admin", "runtime"}


# ---- one folder ------------------------------------------------------------------------------


def check_function_folder(folder: Path) -> list[str]:
    """The problems of one function folder, each a sentence (empty when it is fine)."""
    try:
        spec = json.loads((folder / "function.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"function.json cannot be read: {exc}"]
    bindings = spec.get("bindings") if isinstance(spec, dict) else None
    if not isinstance(bindings, list) or not bindings:
        return ["function.json has no bindings list"]
    problems = [p for b in bindings for p in _check_binding(b)]
    if problems:
        return problems
    triggers = [b for b in bindings if b["type"].endswith("Trigger")]
    if len(triggers) != 1:
        problems.append(f"needs exactly one trigger binding, has {len(triggers)}")
    names = [b["name"] for b in bindings]
    problems += [
        f"binding name {n!r} is used twice" for n in sorted(set(names)) if names.count(n) > 1
    ]
    if any(b["type"] == "httpTrigger" for b in bindings) and not any(
        b["type"] == "http" for b in bindings
    ):
        problems.append("an httpTrigger needs an http output binding (usually $return)")
    return problems + _check_handler(folder, spec, bindings)


def _check_binding(binding: object) -> Iterator[str]:
    if not isinstance(binding, dict):
        yield f"binding {binding!r} is not an object"
        return
    kind, direction, name = binding.get("type"), binding.get("direction"), binding.get("name")
    label = f"binding {name!r}"
    if kind not in _DIRECTIONS:
        yield f"{label} has unknown type {kind!r} (known: {', '.join(sorted(_DIRECTIONS))})"
        return
    if direction not in _DIRECTIONS[kind]:
        yield f"{label} of type {kind} must have direction {' or '.join(sorted(_DIRECTIONS[kind]))}"
    if not isinstance(name, str) or not (name.isidentifier() or name == "$return"):
        yield f"{label} needs a name that is a Python identifier or $return"
    elif name == "$return" and direction != "out":
        yield "$return must be an out binding"
    for key in _REQUIRED.get(kind, ()):
        if not str(binding.get(key) or "").strip():
            yield f"{label} of type {kind} needs {key!r}"
    yield from _check_binding_values(label, kind, binding)


def _check_binding_values(label: str, kind: str, binding: dict[str, object]) -> Iterator[str]:
    # A %NAME% value comes from app settings at startup: only literals are checked here. A
    # missing value is already reported as missing.
    queue, schedule = binding.get("queueName"), binding.get("schedule")
    if kind in ("queue", "queueTrigger") and not _literal_ok(queue, _QUEUE_NAME.fullmatch):
        yield f"{label}: {queue!r} is not a valid queue name (3-63 of a-z 0-9 -)"
    if kind == "timerTrigger" and not _literal_ok(schedule, lambda s: len(s.split()) == 6):
        yield f"{label}: schedule {schedule!r} is not a six-field NCRONTAB expression"
    if kind == "httpTrigger":
        level = binding.get("authLevel")
        if level and str(level).lower() not in _AUTH_LEVELS:
            yield f"{label}: authLevel must be one of {', '.join(sorted(_AUTH_LEVELS))}"
        methods = binding.get("methods")
        if methods is not None and (
            not isinstance(methods, list) or not {str(m).lower() for m in methods} <= _METHODS
        ):
            yield f"{label}: methods {methods!r} are not a list of HTTP methods"


def _check_handler(
    folder: Path, spec: dict[str, object], bindings: list[dict[str, str]]
) -> list[str]:
    script = folder / str(spec.get("scriptFile") or "__init__.py")
    entry = str(spec.get("entryPoint") or "main")
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    except (OSError, SyntaxError) as exc:
        return [f"handler {script.name} cannot be parsed: {exc}"]
    handler = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry
        ),
        None,
    )
    if handler is None:
        return [f"{script.name} has no top-level function {entry!r}"]
    args = handler.args
    if args.vararg or args.kwarg:
        return [f"{entry}() must not take *args or **kwargs: the worker binds by name"]
    params = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    expected = {b["name"] for b in bindings} - {"$return"}
    problems = [
        f"binding {n!r} has no parameter in {entry}()" for n in sorted(expected - set(params))
    ]
    problems += [
        f"parameter {p!r} of {entry}() matches no binding"
        for p in params
        if p not in expected and p != "context"
    ]
    has_return_binding = "$return" in {b["name"] for b in bindings}
    if has_return_binding and not _returns_value(handler):
        problems.append(f"a $return binding is declared but {entry}() returns nothing")
    if not has_return_binding and _returns_value(handler):
        problems.append(f"{entry}() returns a value but there is no $return binding")
    return problems


def _returns_value(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the function itself (not a nested function) returns something other than None."""
    pending: list[ast.AST] = list(func.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Return) and not _is_none(node.value):
            return True
        pending.extend(ast.iter_child_nodes(node))
    return False


def _is_none(value: ast.expr | None) -> bool:
    return value is None or (isinstance(value, ast.Constant) and value.value is None)


def _literal_ok(value: object, check: Callable[[str], object]) -> bool:
    if not isinstance(value, str) or not value.strip():
        return True
    return bool(_SETTING_REF.fullmatch(value) or check(value))


# ---- HTTP routes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """One route template segment: which URL segments it matches, and how many it takes."""

    text: str
    pattern: re.Pattern[str]  # what one URL segment must look like
    literal: bool
    min_count: int  # 1, or 0 for an optional {x?} or a catch-all {*x}
    repeats: bool  # a catch-all takes any number of segments


_ANY = re.compile(r"[^/]+")
_PARAM = re.compile(r"\{([^{}]*)\}")


def _segment(text: str) -> _Segment:
    whole = _PARAM.fullmatch(text)
    if whole:
        inner = whole.group(1).split(":")[0].split("=")[0]
        catch_all = inner.startswith("*")
        optional = catch_all or inner.endswith("?")
        return _Segment(text, _ANY, False, 0 if optional else 1, catch_all)
    if "{" not in text:
        return _Segment(text, re.compile(re.escape(text), re.IGNORECASE), True, 1, False)
    # A complex segment such as `{name}.{ext}`: literal parts around parameters of any text.
    parts = _PARAM.split(text)  # literal, parameter, literal, ...
    regex = "".join(".+" if i % 2 else re.escape(part) for i, part in enumerate(parts))
    return _Segment(text, re.compile(regex, re.IGNORECASE), False, 1, False)


def parse_route(template: str) -> tuple[_Segment, ...]:
    return tuple(_segment(s) for s in template.strip("/").split("/") if s)


def _overlap(a: _Segment, b: _Segment) -> bool:
    """Whether some single URL segment matches both (parameter vs parameter: assume it does)."""
    if a.literal:
        return bool(b.pattern.fullmatch(a.text))
    if b.literal:
        return _overlap(b, a)
    return True


def routes_collide(first: str, second: str) -> bool:
    """Whether some URL path matches both route templates (a walk over the product automaton)."""
    a, b = parse_route(first), parse_route(second)
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i].min_count == 0:
            pending.append((i + 1, j))
        if j < len(b) and b[j].min_count == 0:
            pending.append((i, j + 1))
        if i < len(a) and j < len(b) and _overlap(a[i], b[j]):
            pending.append((i if a[i].repeats else i + 1, j if b[j].repeats else j + 1))
    return False


@dataclass(frozen=True)
class _Route:
    folder: str
    template: str
    methods: frozenset[str]  # empty: every method


def _http_route(folder: Path) -> _Route | None:
    try:
        spec = json.loads((folder / "function.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # reported by check_function_folder
    for binding in spec.get("bindings", []) if isinstance(spec, dict) else []:
        if isinstance(binding, dict) and binding.get("type") == "httpTrigger":
            route = binding.get("route") or folder.name
            methods = frozenset(str(m).lower() for m in binding.get("methods") or [])
            return _Route(folder.name, str(route), methods)
    return None


def _is_fallback(template: str) -> bool:
    """A route that is one catch-all, ``{*path}``: it takes whatever no other route takes."""
    segments = parse_route(template)
    return len(segments) == 1 and segments[0].repeats


def _takes_the_rest(template: str) -> bool:
    """A route ending in a catch-all: tried after a more specific route, it takes the paths
    that route leaves (``{hub}/messages/{*path}`` after ``{hub}/messages/{id}/events``)."""
    segments = parse_route(template)
    return bool(segments) and segments[-1].repeats


def check_routes(folders: list[Path], route_prefix: str) -> list[str]:
    """Route problems across folders: collisions with overlapping methods, host-reserved paths.

    The host tries routes in function-name order (case-insensitive) and takes the first that
    matches, so a route ending in a catch-all may overlap others only if its folder sorts after
    theirs; a fallback (``{*path}``) sorting first is reported as hiding them.
    """
    routes = [r for r in map(_http_route, folders) if r is not None]
    routes.sort(key=lambda r: r.folder.upper())
    problems = []
    for route in routes:
        first = parse_route(f"{route_prefix}/{route.template}")
        if first and first[0].literal and first[0].text.lower() in _HOST_RESERVED:
            problems.append(f"{route.folder}: route {route.template!r} is reserved by the host")
    for index, one in enumerate(routes):
        for other in routes[index + 1 :]:
            shared = (one.methods or _METHODS) & (other.methods or _METHODS)
            if not shared or not routes_collide(one.template, other.template):
                continue
            if _is_fallback(one.template):
                problems.append(
                    f"{one.folder}: the fallback route {one.template!r} hides {other.folder}: "
                    f"{other.template!r}; the host tries routes in function-name order, so "
                    "the fallback's folder must sort after it"
                )
            elif not _takes_the_rest(other.template):
                problems.append(
                    f"{one.folder}: route {one.template!r} collides with {other.folder}: "
                    f"{other.template!r} for {', '.join(sorted(shared)).upper()}"
                )
    return problems


def route_prefix(root: Path) -> str:
    try:
        host = json.loads((root / "host.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "api"
    prefix = host.get("extensions", {}).get("http", {}).get("routePrefix", "api")
    return str(prefix)


def function_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/function.json"))


def check_tree(root: Path) -> list[str]:
    """Every problem of every function folder under ``root``, each prefixed with its folder."""
    folders = function_folders(root)
    problems = [f"{f.name}: {p}" for f in folders for p in check_function_folder(f)]
    return problems + check_routes(folders, route_prefix(root))


if __name__ == "__main__":
    found = check_tree(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
    print("\n".join(found) or "check_function_json: every function folder is valid")
    sys.exit(1 if found else 0)
