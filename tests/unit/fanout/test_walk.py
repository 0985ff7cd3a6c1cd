"""The walk reaches exactly the devices (and templates) the expression selects, each once,
whatever the page size, shard count and expression."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.fanout.audience import small_audience_targets
from shared.fanout.walk import Audience, walk_step
from shared.model.installation import Installation, parse_installation
from shared.registry.view import EncodedView, index_of
from shared.store.index import IndexEntry, Page
from shared.store.keys import shard_of
from shared.tags import Expr, evaluate, parse, tags_in

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TAGS = ["a", "b", "c", "d"]


class MemoryIndex:
    """The index of a few installations, paged like table storage (a test double of storage
    reads, for the pure walk logic)."""

    def __init__(
        self, installations: Sequence[Installation], shards: int, page: int, small: int = 1000
    ) -> None:
        self.page = page
        self.small = small  # most rows tag_everywhere answers with
        self.rows: dict[tuple[str, int], list[IndexEntry]] = {}
        for installation in installations:
            shard = shard_of(installation.installation_id, shards)
            view = EncodedView.of(installation).data
            entry_id = installation.installation_id
            self.rows.setdefault(("", shard), []).append(IndexEntry(entry_id, view, ()))
            for tag, scopes in index_of(installation).items():
                self.rows.setdefault((tag, shard), []).append(IndexEntry(entry_id, view, scopes))
        for entries in self.rows.values():
            entries.sort(key=lambda e: e.installation_id)

    def _page(self, key: tuple[str, int], after: str | None) -> Page:
        rows = [e for e in self.rows.get(key, []) if after is None or e.installation_id > after]
        taken = rows[: self.page]
        last = taken[-1].installation_id if taken else None
        return Page(taken, len(rows) <= self.page, last)

    async def tag_page(self, hub: str, tag: str, shard: int, after: str | None) -> Page:
        return self._page((tag, shard), after)

    async def tag_everywhere(self, hub: str, tag: str, limit: int) -> Page | None:
        rows = [e for (t, _), entries in self.rows.items() if t == tag for e in entries]
        if len(rows) > min(limit, self.small):
            return None
        rows.sort(key=lambda e: e.installation_id)
        return Page(rows, True, rows[-1].installation_id if rows else None)

    async def installation_page(self, hub: str, shard: int, after: str | None) -> Page:
        return self._page(("", shard), after)

    async def installation_entry(self, hub: str, shard: int, installation_id: str) -> Page:
        found = [e for e in self.rows.get(("", shard), []) if e.installation_id == installation_id]
        return Page([IndexEntry(installation_id, found[0].view, ("",))] if found else [], True)


def _installation(number: int, tags: list[str], templates: Mapping[str, list[str]]) -> Installation:
    body = {
        "installationId": f"i{number:03d}",
        "platform": "apns",
        "pushChannel": "00fe",
        "tags": tags,
        "templates": {
            name: {"body": '{"aps":{}}', "tags": template_tags}
            for name, template_tags in templates.items()
        },
    }
    return parse_installation(body, max_tags=200)


installations = st.lists(
    st.tuples(
        st.lists(st.sampled_from(TAGS), unique=True),
        st.dictionaries(
            st.sampled_from(["t1", "t2"]), st.lists(st.sampled_from(TAGS), unique=True)
        ),
    ),
    max_size=25,
).map(lambda specs: [_installation(n, t, m) for n, (t, m) in enumerate(specs)])

atoms = st.sampled_from([*TAGS, "t1", "$InstallationId:{i003}"])
expressions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        inner.map(lambda e: f"!({e})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]}) && ({p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]}) || ({p[1]})"),
    ),
    max_leaves=5,
)


async def _walk(
    index: MemoryIndex, audience: Audience, shards: int
) -> list[tuple[str, str | None]]:
    reached = []
    for shard in range(shards):
        cursor = None
        while True:
            step = await walk_step(index, "h", audience, shard, shards, cursor, NOW)  # type: ignore[arg-type]
            reached += [(t.installation_id, t.template) for t in step.targets]
            if step.next_cursor is None:
                break
            cursor = step.next_cursor
    return reached


@settings(max_examples=150, deadline=None)
@given(
    devices=installations,
    expression=st.none() | expressions,
    shards=st.integers(1, 4),
    page=st.integers(1, 4),
    template_send=st.booleans(),
)
async def test_walk_reaches_exactly_the_matching_devices_once(
    devices: list[Installation], expression: str | None, shards: int, page: int, template_send: bool
) -> None:
    parsed = None if expression is None else parse(expression)
    audience = Audience(parsed, None, template_send)
    reached = await _walk(MemoryIndex(devices, shards, page), audience, shards)
    expected = _expected(devices, parsed, template_send)
    assert sorted(reached) == sorted(expected)
    assert len(reached) == len(set(reached))


@settings(max_examples=150, deadline=None)
@given(
    devices=installations,
    expression=expressions,
    shards=st.integers(1, 4),
    small=st.integers(0, 25),
    template_send=st.booleans(),
)
async def test_a_small_audience_read_at_once_reaches_what_the_walk_reaches(
    devices: list[Installation], expression: str, shards: int, small: int, template_send: bool
) -> None:
    parsed = parse(expression)
    audience = Audience(parsed, None, template_send)
    index = MemoryIndex(devices, shards, 1000, small)
    found = await small_audience_targets(index, "h", shards, audience, NOW)  # type: ignore[arg-type]
    if found is None:  # a tag too big, or an expression a device without tags satisfies
        assert evaluate(parsed, frozenset()) or any(
            len([d for d in devices if tag in index_of(d)]) > small
            for tag in tags_in(parsed)
            if not tag.startswith("$InstallationId")
        )
        return
    reached = [(t.installation_id, t.template) for t in found]
    assert reached == sorted(_expected(devices, parsed, template_send))  # in walk order


def _expected(
    devices: list[Installation], parsed: Expr | None, template_send: bool
) -> list[tuple[str, str | None]]:
    expected: list[tuple[str, str | None]] = []
    for device in devices:
        if not template_send:
            if parsed is None or evaluate(parsed, device.native_tags):
                expected.append((device.installation_id, None))
            continue
        for name in sorted(device.templates):
            if parsed is None or evaluate(parsed, device.template_tags(name)):
                expected.append((device.installation_id, name))
    return expected
