"""Table keys: every key starts with the hub; user-supplied parts are percent-encoded.

PartitionKey and RowKey may not hold ``/ \\ # ?`` or control characters, and tags may contain
``#``; so everything outside a conservative safe set is percent-encoded (``%`` included),
which keeps keys unique and their order stable.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote

_SAFE = "-_.~:@$!*()+,;=[]{}"


def encode_key(text: str) -> str:
    return quote(text, safe=_SAFE)


def decode_key(text: str) -> str:
    return unquote(text)


def shard_of(installation_id: str, shard_count: int) -> int:
    """A stable shard for an installation id, the same on every process and platform."""
    digest = hashlib.sha256(installation_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % shard_count


def installation_partition(hub: str, shard: int) -> str:
    return f"{hub}~{shard}"


def tag_partition(hub: str, tag: str, shard: int) -> str:
    return f"{hub}~{encode_key(tag)}~{shard}"


def hub_range(hub: str) -> tuple[str, str]:
    """The PartitionKey range ``[low, high)`` of every ``{hub}~…`` partition, and of no other
    hub's: hub names hold only characters below ``~``, and keys only ASCII up to ``~`` (the
    rest is percent-encoded), so no other name shares ``{hub}~`` and nothing sorts past it."""
    return f"{hub}~", f"{hub}~\x7f"


def tag_partitions_range(hub: str, tag: str) -> tuple[str, str]:
    """[low, high) holding the partitions of ``tag`` on every shard, and nothing else: an
    encoded tag never holds ``~``, so no other tag's partitions share the prefix."""
    prefix = f"{hub}~{encode_key(tag)}~"
    return prefix, prefix + "\x7f"
