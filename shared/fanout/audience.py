"""Small audiences: a send bound to few devices is delivered by its plan step, at once.

Most sends go to one user or a few devices. Walking every shard for them costs a queue message
and about six storage requests per shard, nearly all finding nothing. Instead the plan step
first reads, for each tag of the expression, that tag's index rows on every shard with one
range query over its partitions (``$InstallationId:{id}`` with one point read). When every tag
has at most :data:`SMALL_AUDIENCE` rows, those reads hold the whole audience, with each
device's true memberships, so the expression is evaluated exactly as the walk would: the plan
step delivers the targets itself, as one step. Otherwise the send is walked shard by shard.

An expression that a device with none of its tags could satisfy (``!a``, a broadcast) needs
every installation and is always walked.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from shared.fanout.merge import merge
from shared.fanout.select import Target
from shared.fanout.walk import ID_TAG_PREFIX, Audience, select_all
from shared.store.index import IndexReader, Page
from shared.store.keys import shard_of
from shared.tags import evaluate, tags_in

SMALL_AUDIENCE = 200  # index rows per tag, over every shard, the plan step delivers itself


async def small_audience_targets(
    reader: IndexReader, hub: str, shard_count: int, audience: Audience, now: datetime
) -> list[Target] | None:
    """The whole audience's targets in walk order, or None when the send must be walked."""
    expression = audience.expression
    if expression is None or evaluate(expression, frozenset()):
        return None
    tags = sorted(tags_in(expression))

    async def read(tag: str) -> Page | None:
        if tag.startswith(ID_TAG_PREFIX):
            installation_id = tag[len(ID_TAG_PREFIX) + 1 : -1]
            shard = shard_of(installation_id, shard_count)
            return await reader.installation_entry(hub, shard, installation_id)
        return await reader.tag_everywhere(hub, tag, SMALL_AUDIENCE)

    pages = await asyncio.gather(*(read(tag) for tag in tags))
    if any(page is None for page in pages):
        return None
    step = merge({tag: page for tag, page in zip(tags, pages, strict=True) if page is not None})
    return await select_all(step.candidates, audience, now)
