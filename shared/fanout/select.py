"""Which deliveries a candidate device gets: the tag expression, platform and expiry rules.

A native send reaches a device once if the expression holds over its own tags. A template send
reaches it once per template whose tags (the device's, the template's and the template's name)
satisfy the expression. ``$InstallationId:{id}`` is always one of a device's tags. A template
registration is reached by template sends only (its view says ``templateOnly``); a native
registration has no templates, so only native sends of its platform reach it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from shared.fanout.merge import Candidate
from shared.model.installation import installation_id_tag
from shared.registry.view import NATIVE_SCOPE, TEMPLATE_ONLY
from shared.tags import Expr, evaluate

# Views are parsed a thousand a page: json.loads would sniff each one's encoding first, and
# decode() match whitespace around it twice (0.5 µs a view instead of 1.7).
_raw_decode = json.JSONDecoder().raw_decode


def _decode_view(data: bytes) -> dict[str, Any]:
    """A stored delivery view (JSON that Herald wrote)."""
    text = data.decode()
    view, end = _raw_decode(text)
    if end != len(text) or not isinstance(view, dict):
        raise ValueError(f"not a delivery view: {text[:80]!r}")
    return view


class Target(NamedTuple):
    """One delivery. A tuple: a send makes one per device, at a third of a frozen dataclass's
    cost."""

    installation_id: str
    view: Mapping[str, Any]  # the delivery view (shared.registry.view.delivery_view)
    template: str | None = None  # the template to render, for template sends

    @property
    def platform(self) -> str:
        return str(self.view["platform"])


def _live(view: Mapping[str, Any], now: datetime) -> bool:
    if view.get("expired"):
        return False
    expires = view.get("expires")
    return expires is None or datetime.fromisoformat(expires.replace("Z", "+00:00")) > now


class _Carried:
    """The tags a candidate carries in one scope (native: None), answered as the expression
    asks for each: cheaper than building the set of them for every device."""

    __slots__ = ("_candidate", "_scope")

    def __init__(self, candidate: Candidate, scope: str | None) -> None:
        self._candidate, self._scope = candidate, scope

    def __contains__(self, tag: object) -> bool:
        scopes = self._candidate.memberships.get(tag)  # type: ignore[call-overload]
        if scopes is not None and (NATIVE_SCOPE in scopes or self._scope in scopes):
            return True
        return tag == installation_id_tag(self._candidate.installation_id)  # every device's


def select(
    candidate: Candidate,
    expression: Expr | None,
    *,
    platforms: Collection[str] | None,
    template_send: bool,
    now: datetime,
) -> list[Target]:
    """``platforms`` limits native sends to installations of those platforms (None: any)."""
    view = _decode_view(candidate.view)
    if not _live(view, now):
        return []
    if not template_send:
        if view.get(TEMPLATE_ONLY) or (platforms is not None and view["platform"] not in platforms):
            return []
        if expression is None or evaluate(expression, _Carried(candidate, None)):
            return [Target(candidate.installation_id, view)]
        return []
    return [
        Target(candidate.installation_id, view, name)
        for name in sorted(view.get("templates", {}))
        if expression is None or evaluate(expression, _Carried(candidate, name))
    ]
