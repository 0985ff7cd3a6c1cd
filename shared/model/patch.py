"""JSON Patch (RFC 6902 ``add``, ``remove``, ``replace``) on installations, as NH applies it.

The operations work on the installation's wire JSON, which is then parsed again, so a patched
installation is validated exactly like a PUT body. NH's deviations from RFC 6902 are kept:

- ``add /tags`` merges (a string adds one tag, an array adds all); ``replace /tags`` sets them;
  ``add /tags/-`` adds the value; ``remove /tags/{tag}`` removes that tag by *name*. Removing a
  tag (or any member) that is not there is a no-op, not an error: NH's tags are a set, and an
  idempotent remove is what a client retrying after a timeout needs.
- A string value where an object is expected is JSON text (the .NET SDK types every value as a
  string), so ``add /templates/t1`` takes ``{"body": …}`` or ``"{\\"body\\": …}"``.
- ``add`` creates the ``templates``, ``pushVariables``, ``headers`` and ``secondaryTiles`` maps as
  needed, but a template or tile addressed inside a path must exist.
- Changing ``pushChannel`` clears ``pushChannelExpired``. Field names match case-insensitively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum

from shared.errors import BadRequestError
from shared.model.installation import Installation, parse_installation
from shared.model.validation import decode_json_text, json_type, show


class PatchOp(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


@dataclass(frozen=True)
class PatchOperation:
    op: PatchOp
    path: tuple[str, ...]  # decoded JSON Pointer segments
    value: object = None


class _Kind(Enum):
    INSTALLATION = "installation"
    TEMPLATES = "templates"  # name -> template
    TEMPLATE = "template"
    TILES = "tiles"  # tile id -> tile
    TILE = "tile"
    STRINGS = "strings"  # name -> string (push variables, headers)
    TAGS = "tags"
    TAG = "tag"
    TEXT = "text"  # a scalar, validated when the result is parsed


_FIELDS: dict[_Kind, dict[str, tuple[str, _Kind]]] = {
    _Kind.INSTALLATION: {
        "pushchannel": ("pushChannel", _Kind.TEXT),
        "userid": ("userId", _Kind.TEXT),
        "expirationtime": ("expirationTime", _Kind.TEXT),
        "tags": ("tags", _Kind.TAGS),
        "templates": ("templates", _Kind.TEMPLATES),
        "pushvariables": ("pushVariables", _Kind.STRINGS),
        "secondarytiles": ("secondaryTiles", _Kind.TILES),
    },
    _Kind.TEMPLATE: {
        "body": ("body", _Kind.TEXT),
        "headers": ("headers", _Kind.STRINGS),
        "expiry": ("expiry", _Kind.TEXT),
        "tags": ("tags", _Kind.TAGS),
    },
    _Kind.TILE: {
        "pushchannel": ("pushChannel", _Kind.TEXT),
        "tags": ("tags", _Kind.TAGS),
        "templates": ("templates", _Kind.TEMPLATES),
    },
}
_MEMBERS = {
    _Kind.TEMPLATES: _Kind.TEMPLATE,
    _Kind.TILES: _Kind.TILE,
    _Kind.STRINGS: _Kind.TEXT,
    _Kind.TAGS: _Kind.TAG,
}
_OBJECT_KINDS = frozenset({_Kind.TEMPLATES, _Kind.TEMPLATE, _Kind.TILES, _Kind.TILE, _Kind.STRINGS})


def _patch_error(detail: str) -> BadRequestError:
    return BadRequestError(f"Invalid patch: {detail}")


def parse_patch(data: object) -> tuple[PatchOperation, ...]:
    """A JSON array of ``{op, path, value?}``; anything else is a :class:`BadRequestError`."""
    if not isinstance(data, list):
        raise _patch_error(f"the body must be a JSON array of operations, not {json_type(data)}.")
    return tuple(_parse_operation(item, index) for index, item in enumerate(data))


def apply_patch(
    installation: Installation, operations: Sequence[PatchOperation], *, max_tags: int
) -> Installation:
    """The installation after ``operations``, validated as a PUT body would be."""
    original = installation.to_wire()
    doc = installation.to_wire()
    for operation in operations:
        _apply(doc, operation)
    if doc.get("pushChannel") != original["pushChannel"]:
        doc["pushChannelExpired"] = False
    return parse_installation(doc, max_tags=max_tags, installation_id=installation.installation_id)


def _parse_operation(item: object, index: int) -> PatchOperation:
    where = f"operation {index}"
    if not isinstance(item, dict):
        raise _patch_error(f"{where} must be an object, not {json_type(item)}.")
    op_name, path = item.get("op"), item.get("path")
    if not isinstance(op_name, str) or not isinstance(path, str):
        raise _patch_error(f"{where} needs string members 'op' and 'path'.")
    try:
        op = PatchOp(op_name.lower())
    except ValueError:
        raise _patch_error(
            f"{where}: op {show(op_name)} is not supported; use add, remove or replace."
        ) from None
    if op is not PatchOp.REMOVE and "value" not in item:
        raise _patch_error(f"{where}: {op.value} needs a value.")
    segments = _split_pointer(path, where)
    _resolve_kinds(segments, where)  # reject unknown paths before anything is applied
    return PatchOperation(op=op, path=segments, value=item.get("value"))


def _split_pointer(path: str, where: str) -> tuple[str, ...]:
    if not path.startswith("/") or path == "/":
        raise _patch_error(f"{where}: path {show(path)} must be a JSON Pointer such as /tags.")
    segments = tuple(s.replace("~1", "/").replace("~0", "~") for s in path[1:].split("/"))
    if any(not segment for segment in segments):
        raise _patch_error(f"{where}: path {show(path)} has an empty segment.")
    return segments


def _resolve_kinds(segments: tuple[str, ...], where: str) -> list[tuple[str, _Kind]]:
    """Each segment's canonical key and kind, walking from the installation down."""
    kind = _Kind.INSTALLATION
    resolved: list[tuple[str, _Kind]] = []
    for segment in segments:
        if kind in _FIELDS:
            found = _FIELDS[kind].get(segment.lower())
        else:
            found = (segment, _MEMBERS[kind]) if kind in _MEMBERS else None
        if found is None:
            path = "/" + "/".join(segments)
            raise _patch_error(f"{where}: path {show(path)} is not supported.")
        resolved.append(found)
        kind = found[1]
    return resolved


def _apply(doc: dict[str, object], operation: PatchOperation) -> None:
    resolved = _resolve_kinds(operation.path, "operation")
    key, kind = resolved[-1]
    if kind is _Kind.TAG:
        tags_key = resolved[-2][0]
        container = _walk(doc, resolved[:-2], operation.op)
        if container is not None:
            _apply_tag(container, tags_key, key, operation)
        return
    container = _walk(doc, resolved[:-1], operation.op)
    if container is None:
        return
    if operation.op is PatchOp.REMOVE:
        container.pop(key, None)
    elif kind is _Kind.TAGS:
        _apply_tags(container, key, operation)
    else:
        container[key] = _coerce(operation.value, kind, key)


def _walk(
    doc: dict[str, object], resolved: list[tuple[str, _Kind]], op: PatchOp
) -> dict[str, object] | None:
    """The object the last segment lives in; None when removing from a map that is absent."""
    node = doc
    for key, kind in resolved:
        child = node.get(key)
        if child is None and kind in _MEMBERS and kind is not _Kind.TAGS:
            if op is PatchOp.REMOVE:
                return None
            child = node[key] = {}
        if not isinstance(child, dict):
            raise _patch_error(f"{show(key)} does not exist, so nothing inside it can change.")
        node = child
    return node


def _apply_tags(container: dict[str, object], key: str, operation: PatchOperation) -> None:
    added = _tag_list(operation.value)
    existing = container.get(key)
    current = existing if isinstance(existing, list) else []
    container[key] = added if operation.op is PatchOp.REPLACE else [*current, *added]


def _apply_tag(
    container: dict[str, object], tags_key: str, tag: str, operation: PatchOperation
) -> None:
    existing = container.get(tags_key)
    current = existing if isinstance(existing, list) else []
    if operation.op is PatchOp.REMOVE:
        container[tags_key] = [item for item in current if item != tag]
    elif operation.op is PatchOp.ADD and tag == "-":
        container[tags_key] = [*current, *_tag_list(operation.value)]
    else:
        raise _patch_error(
            f"{operation.op.value} on a single tag is not supported; use add /tags or /tags/-."
        )


def _tag_list(value: object) -> list[object]:
    """A tag, an array of tags, or (from .NET) an array as JSON text."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = decode_json_text(value, "tags")
    return list(value) if isinstance(value, list) else [value]


def _coerce(value: object, kind: _Kind, key: str) -> object:
    if kind in _OBJECT_KINDS and isinstance(value, str):
        return decode_json_text(value, key)
    return value
