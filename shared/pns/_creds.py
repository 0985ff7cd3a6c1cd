"""Shared plumbing for the per-PNS credential dataclasses: reading a plain dict, masking secrets.

The hub store keeps credentials as JSON objects; each PNS module's ``from_dict`` turns one into
its frozen dataclass and rejects anything malformed with a :class:`BadRequestError` naming the
field, because credentials arrive through the admin API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from shared.errors import BadRequestError


class MaskedRepr:
    """Mixin for frozen credential dataclasses: ``repr`` shows ``'***'`` for every secret field."""

    _SECRETS: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            shown = "'***'" if f.name in self._SECRETS and value is not None else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """The plain-dict form that ``from_dict`` reads back (secrets included: store it safely)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        }


class DictReader:
    """Typed access to a credentials dict; every problem becomes one clear BadRequestError."""

    def __init__(
        self,
        kind: str,
        data: Mapping[str, object],
        allowed: frozenset[str],
        aliases: Mapping[str, str] | None = None,
        ignored: frozenset[str] = frozenset(),
    ) -> None:
        """``aliases`` maps another spelling of a field (NH's credential property names) to
        the field; a credential may use either, not both. ``ignored`` names NH properties
        that are accepted and dropped."""
        aliases = aliases or {}
        data = {key: value for key, value in data.items() if key not in ignored}
        named: dict[str, object] = {}
        self._spelled: dict[str, str] = {}
        self._nh_name: dict[str, str] = {}
        for nh, field in aliases.items():
            self._nh_name.setdefault(field, nh)
        for key, value in data.items():
            field = aliases.get(key, key)
            if field in named:
                raise BadRequestError(f"{kind} credentials: '{field}' is given twice.")
            named[field], self._spelled[field] = value, key
        unknown = sorted(self._spelled[f] for f in set(named) - allowed)
        if unknown:
            nh_names = sorted(set(aliases) | ignored)
            also = f" (or NH's: {', '.join(nh_names)})" if nh_names else ""
            raise BadRequestError(
                f"{kind} credentials: unknown field(s) {', '.join(unknown)}; "
                f"the fields are {', '.join(sorted(allowed))}{also}."
            )
        self._kind = kind
        self._data = named

    def label(self, name: str) -> str:
        """The field as the credential spelled it."""
        return f"'{self._spelled.get(name, name)}'"

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            nh = self._nh_name.get(name)
            also = "" if nh is None else f" (NH's name: '{nh}')"
            raise BadRequestError(f"{self._kind} credentials: '{name}' is required{also}.")
        return value

    def optional(self, name: str, default: str | None = None) -> str | None:
        value = self._data.get(name)
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            raise BadRequestError(f"{self._kind} credentials: {self.label(name)} must be a string.")
        return value

    def fail(self, detail: str) -> BadRequestError:
        return BadRequestError(f"{self._kind} credentials: {detail}")


def field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))
