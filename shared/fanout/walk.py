"""One step of a send's walk over one shard: read the streams, merge, choose targets."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.fanout.merge import UNIVERSE, Candidate, merge
from shared.fanout.select import Target, select
from shared.model.installation import installation_id_tag
from shared.sending.pacing import paced
from shared.store.index import IndexReader, Page
from shared.store.keys import shard_of
from shared.tags import Expr, evaluate, tags_in

ID_TAG_PREFIX = installation_id_tag("")[:-2]  # "$InstallationId:"


@dataclass(frozen=True)
class Audience:
    """Who a send is for: an expression (None: everyone) and, for native sends, platforms."""

    expression: Expr | None
    platforms: Collection[str] | None
    template_send: bool

    def streams(self, shard: int, shard_count: int) -> dict[str, str | None]:
        """Stream name -> installation id for a point read, or None for a partition walk."""
        streams: dict[str, str | None] = {}
        if self.expression is None or evaluate(self.expression, frozenset()):
            streams[UNIVERSE] = None
        for tag in tags_in(self.expression) if self.expression is not None else ():
            if tag.startswith(ID_TAG_PREFIX):
                installation_id = tag[len(ID_TAG_PREFIX) + 1 : -1]
                if shard_of(installation_id, shard_count) == shard:
                    streams[tag] = installation_id
            else:
                streams[tag] = None
        return streams


@dataclass(frozen=True)
class WalkStep:
    targets: list[Target]
    next_cursor: str | None  # None: this shard is done


async def walk_step(
    reader: IndexReader,
    hub: str,
    audience: Audience,
    shard: int,
    shard_count: int,
    cursor: str | None,
    now: datetime,
) -> WalkStep:
    streams = audience.streams(shard, shard_count)

    async def read(stream: str, point: str | None) -> Page:
        if point is not None:
            if cursor is not None and point <= cursor:
                return Page((), True)
            return await reader.installation_entry(hub, shard, point)
        if stream == UNIVERSE:
            return await reader.installation_page(hub, shard, cursor)
        return await reader.tag_page(hub, stream, shard, cursor)

    names = list(streams)
    pages = await asyncio.gather(*(read(name, streams[name]) for name in names))
    step = merge(dict(zip(names, pages, strict=True)))
    return WalkStep(await select_all(step.candidates, audience, now), step.next_cursor)


async def select_all(
    candidates: Sequence[Candidate], audience: Audience, now: datetime
) -> list[Target]:
    """Every delivery the candidates get, in their order; reading a page of large views takes
    a while, so the event loop gets its turns (shared.sending.pacing)."""
    targets: list[Target] = []
    async for candidate in paced(candidates):
        targets += select(
            candidate,
            audience.expression,
            platforms=audience.platforms,
            template_send=audience.template_send,
            now=now,
        )
    return targets
