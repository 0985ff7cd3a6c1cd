"""Merge the pages of several index partitions, all in installation-id order, into candidates.

Every stream of a step holds the rows after the same cursor. Rows up to the *frontier* (the
smallest last id among streams that have more rows) are complete in every stream, so each
installation up to there is seen once, with every expression tag it carries; the next step
starts after the frontier. When every stream is exhausted the shard is done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.store.index import Page

UNIVERSE = ""  # the stream of all installations (not a tag)


@dataclass(slots=True)
class Candidate:
    """One installation a step may deliver to; its memberships fill in as the streams are
    merged."""

    installation_id: str
    view: bytes
    memberships: dict[str, tuple[str, ...]]  # tag -> scopes


@dataclass(frozen=True)
class MergeStep:
    candidates: Sequence[Candidate]
    next_cursor: str | None  # None: the shard is done


def merge(pages: Mapping[str, Page]) -> MergeStep:
    """``pages`` maps a tag (or :data:`UNIVERSE`) to its page after the step's cursor."""
    open_ends = [p.last_key for p in pages.values() if not p.exhausted]
    if None in open_ends:
        raise ValueError("a page that is not exhausted must have read rows")
    frontier = min(key for key in open_ends if key is not None) if open_ends else None
    found: dict[str, Candidate] = {}
    for stream, page in pages.items():
        for entry in page.entries:
            if frontier is not None and entry.installation_id > frontier:
                break
            candidate = found.get(entry.installation_id)
            if candidate is None:
                candidate = found[entry.installation_id] = Candidate(
                    entry.installation_id, entry.view, {}
                )
            if stream != UNIVERSE:
                candidate.memberships[stream] = entry.scopes
    ordered = [found[key] for key in sorted(found)]
    return MergeStep(ordered, frontier)
