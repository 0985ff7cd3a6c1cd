"""Feed paging: every registration exactly once, in order, whatever the page size, however an
installation's registrations straddle pages and however many rows list nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.model.channels import InstallationPlatform
from shared.model.registration import Registration
from shared.registrations.listing import Entry, FeedPosition, Rows, feed_page
from shared.store.installations import InstallationKey, StoredInstallation

# Per shard: rows in key order, each listing 0 (filtered out) to 4 registrations.
shards = st.lists(
    st.lists(st.integers(min_value=0, max_value=4), max_size=8), min_size=1, max_size=4
)


def _row(shard: int, key: str) -> StoredInstallation:
    return StoredInstallation(
        key=InstallationKey("hub", shard, key), document=None, entity={}, etag="", version=1,
        content_hash="", view_digest="", index={}, pending_deletes=frozenset(), pending=False,
    )  # fmt: skip


def _entries(key: str, count: int) -> list[Entry]:
    return [(Registration(f"{key}.{n}", InstallationPlatform.FCMV1, "t"), 1) for n in range(count)]


@settings(max_examples=200)
@given(shards, st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=3))
def test_pages_list_everything_once_in_order(
    layout: list[list[int]], top: int, fetch_size: int
) -> None:
    counts = {(s, f"k{r:02d}"): n for s, rows in enumerate(layout) for r, n in enumerate(rows)}

    async def fetch(shard: int, after: str | None, wanted: int) -> Rows:
        keys = sorted(k for s, k in counts if s == shard and (after is None or k > after))
        taken = keys[: min(wanted, fetch_size)]  # storage may answer fewer than asked
        rows = [_row(shard, k) for k in taken]
        return Rows(rows, len(taken) == len(keys), taken[-1] if taken else None)

    def expand(row: StoredInstallation) -> list[Entry]:
        key = row.key
        return _entries(key.installation_id, counts[(key.shard, key.installation_id)])

    async def everything() -> list[list[Any]]:
        pages, position = [], FeedPosition()
        while True:
            found, following = await feed_page(fetch, expand, len(layout), position, top)
            assert len(found) <= top
            pages.append([r.registration_id for r, _ in found])
            if following is None:
                return pages
            position = FeedPosition.of(following.token())

    pages = asyncio.run(everything())
    expected = [f"{k}.{n}" for (s, k), count in sorted(counts.items()) for n in range(count)]
    assert [i for page in pages for i in page] == expected
