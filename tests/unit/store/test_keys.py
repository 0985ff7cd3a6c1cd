"""A hub's key range holds every partition of that hub and none of any other hub."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.hubs.model import HUB_NAME
from shared.store.feedback import INBOX_PREFIX, INBOX_SHARDS
from shared.store.hygiene import DUE_PARTITION
from shared.store.keys import encode_key, hub_range, installation_partition, tag_partition

hub_names = st.from_regex(HUB_NAME, fullmatch=True)
# What follows "{hub}~" in a key: shards, encoded tags, platforms, notification ids.
suffixes = st.one_of(
    st.integers(min_value=0, max_value=1023).map(str),
    st.text(max_size=30).map(encode_key),
    st.tuples(st.text(max_size=30), st.integers(0, 1023)).map(
        lambda t: f"{encode_key(t[0])}~{t[1]}"
    ),
)


def _inside(key: str, hub: str) -> bool:
    low, high = hub_range(hub)
    return low <= key < high


@given(hub=hub_names, tag=st.text(max_size=40), shard=st.integers(0, 1023))
def test_every_partition_of_a_hub_is_in_its_range(hub: str, tag: str, shard: int) -> None:
    assert _inside(installation_partition(hub, shard), hub)
    assert _inside(tag_partition(hub, tag, shard), hub)
    assert _inside(f"{hub}~{encode_key(tag)}", hub)


@given(hub=hub_names, other=hub_names, suffix=suffixes)
def test_no_partition_of_another_hub_is_in_its_range(hub: str, other: str, suffix: str) -> None:
    if other != hub:
        assert not _inside(f"{other}~{suffix}", hub)
    assert not _inside(other, hub)  # nor a hub's own summary partition, "{hub}"


@given(hub=hub_names, shard=st.integers(0, INBOX_SHARDS - 1))
def test_the_partitions_every_hub_shares_are_in_no_hub_range(hub: str, shard: int) -> None:
    for shared in (f"{INBOX_PREFIX}{shard}", DUE_PARTITION, "~cursor"):
        assert not _inside(shared, hub)
