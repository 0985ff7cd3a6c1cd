"""Registration feeds: ``GET /{hub}/registrations`` and ``GET /{hub}/tags/{tag}/registrations``.

Both list registrations and the registrations installations imply, as Atom feeds, shard by
shard in key order. ``$top`` (1-1000, default 100) bounds a page; the next page's token comes
in ``X-MS-ContinuationToken`` and goes back as the ``ContinuationToken`` query parameter (any
case). A token names the shard, the last row listed whole and, when an installation's
registrations straddle two pages, how many of the next row's were listed.

Listing everything and listing by tag need Manage. With a handle ``$filter`` (NH: "read all
registrations for a handle") a Listen key is enough, as the device SDKs list their own
handle's registrations; a Listen-only caller sees only those it could read one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from shared.auth.sas import AccessRight
from shared.engine import Engine
from shared.errors import BadRequestError
from shared.http import HttpAnswer, HttpRequestData
from shared.hubs.model import Hub
from shared.model.registration import Registration, implied_registrations
from shared.registrations.atom import FEED_CONTENT_TYPE, feed_xml
from shared.registrations.entries import atom_time, entry_for, request_url
from shared.registrations.filters import HandleFilter, parse_filter
from shared.registry import access
from shared.registry.api import caller_of
from shared.registry.listing import decode_token, encode_token, parse_top
from shared.registry.view import NATIVE_SCOPE
from shared.store.index import IndexReader
from shared.store.installations import InstallationKey, StoredInstallation
from shared.store.keys import shard_of
from shared.store.scan import device_page
from shared.tags import INSTALLATION_ID_PREFIX, Tag, parse

CONTINUATION_HEADER = "X-MS-ContinuationToken"
MAX_READS = 32  # storage pages one request reads at most before it answers with a token

Entry = tuple[Registration, int]  # a registration and its ETag


@dataclass(frozen=True)
class Rows:
    rows: Sequence[StoredInstallation]
    exhausted: bool  # the shard has no more rows
    last_key: str | None  # the last key read, kept or not


Fetch = Callable[[int, str | None, int], Awaitable[Rows]]
Expand = Callable[[StoredInstallation], list[Entry]]


@dataclass(frozen=True)
class FeedPosition:
    shard: int = 0
    after: str | None = None  # the last row whose registrations were all listed
    partial: str | None = None  # the row after it, of which ``listed`` were
    listed: int = 0

    def token(self) -> str:
        return encode_token({"s": self.shard, "a": self.after, "p": self.partial, "n": self.listed})

    @classmethod
    def of(cls, token: str | None) -> FeedPosition:
        if token is None:
            return cls()
        data = decode_token(token)
        shard, after, partial, listed = (data.get(k) for k in ("s", "a", "p", "n"))
        valid = (
            isinstance(shard, int)
            and shard >= 0
            and isinstance(listed, int)
            and listed >= 0
            and all(v is None or isinstance(v, str) for v in (after, partial))
        )
        if not valid:
            raise BadRequestError("The ContinuationToken is not one this hub issued.")
        return cls(shard, after, partial, listed)  # type: ignore[arg-type]


def _query(request: HttpRequestData, name: str) -> str | None:
    """A query parameter by name in any case (``ContinuationToken``, ``continuationtoken``)."""
    lowered = name.lower()
    return next((v for k, v in request.query.items() if k.lower() == lowered), None)


async def feed_page(
    fetch: Fetch, expand: Expand, shard_count: int, start: FeedPosition, top: int
) -> tuple[list[Entry], FeedPosition | None]:
    entries: list[Entry] = []
    shard, after, partial, listed = start.shard, start.after, start.partial, start.listed
    for _ in range(MAX_READS):
        if shard >= shard_count:
            return entries, None
        batch = await fetch(shard, after, top - len(entries))
        for row in batch.rows:
            key = row.key.installation_id
            already = listed if key == partial else 0
            found = expand(row)[already:]
            room = top - len(entries)
            if len(found) > room:
                entries += found[:room]
                return entries, FeedPosition(shard, after, key, already + room)
            entries += found
            after, partial, listed = key, None, 0
        # Rows read but listing nothing (filtered out, or gone) are passed over too.
        after, partial, listed = batch.last_key or after, None, 0
        if batch.exhausted:
            shard, after = shard + 1, None
        if len(entries) >= top:
            return entries, FeedPosition(shard, after) if shard < shard_count else None
    return entries, FeedPosition(shard, after, partial, listed)


def _expander(
    caller: access.Caller,
    hub: Hub,
    handle: HandleFilter | None,
    scopes: Mapping[str, tuple[str, ...]],
) -> Expand:
    """The registrations a row lists: a registration itself, an installation's implied ones
    (only the templates a tag's index row scopes, when listing by tag); none that the handle
    filter or the caller's rights exclude."""

    def expand(row: StoredInstallation) -> list[Entry]:
        document = row.document
        if document is None:
            return []
        if handle is not None and not handle.matches(document):
            return []
        if not access.may_read(caller, hub, document):
            return []
        if isinstance(document, Registration):
            return [(document, row.version)]
        shown = implied_registrations(document)
        scoped = scopes.get(row.key.installation_id)
        if scoped is not None and NATIVE_SCOPE not in scoped:
            shown = [r for r in shown if r.template is not None and r.template.name in scoped]
        return [(registration, row.version) for registration in shown]

    return expand


def _feed(
    request: HttpRequestData, hub: Hub, entries: list[Entry], following: FeedPosition | None
) -> HttpAnswer:
    body = feed_xml(
        feed_id=request_url(request),
        updated=atom_time(None),
        entries=(entry_for(request, hub, r, version) for r, version in entries),
    )
    headers = {"Content-Type": FEED_CONTENT_TYPE}
    if following is not None:
        headers[CONTINUATION_HEADER] = following.token()
    return HttpAnswer(200, body.encode(), headers)


def _top(request: HttpRequestData) -> int:
    return parse_top(_query(request, "$top"))


async def list_registrations(engine: Engine, hub: Hub, request: HttpRequestData) -> HttpAnswer:
    """``GET /{hub}/registrations``: everything (Manage), or one handle's (Listen)."""
    text = _query(request, "$filter")
    handle = None if text is None or not text.strip() else parse_filter(text)
    right = AccessRight.MANAGE if handle is None else AccessRight.LISTEN
    caller = await caller_of(engine, hub, request, right)
    platforms = None
    if handle is not None and handle.platforms is not None:
        platforms = sorted(p.value for p in handle.platforms)

    async def fetch(shard: int, after: str | None, top: int) -> Rows:
        rows, exhausted, last = await device_page(
            engine.tables,
            hub.name,
            shard,
            after,
            top,
            handles=handle.handles if handle is not None else (),
            platforms=platforms,
            max_tags=hub.max_tags,
        )
        return Rows(rows, exhausted, last)

    start = FeedPosition.of(_query(request, "ContinuationToken"))
    expand = _expander(caller, hub, handle, {})
    entries, following = await feed_page(fetch, expand, hub.shard_count, start, _top(request))
    return _feed(request, hub, entries, following)


def _tag(text: str) -> str:
    expression = parse(text, max_tags=1)
    if not isinstance(expression, Tag):
        raise BadRequestError(f"{text[:120]!r} is not a tag.")
    return expression.name


async def list_tag_registrations(
    engine: Engine, hub: Hub, request: HttpRequestData, tag_text: str
) -> HttpAnswer:
    """``GET /{hub}/tags/{tag}/registrations`` (Manage): the tag's index rows, shard by shard,
    each device read by its key; ``$InstallationId:{id}`` is one point read."""
    caller = await caller_of(engine, hub, request, AccessRight.MANAGE)
    tag = _tag(tag_text)
    reader = IndexReader(engine.tables)
    scopes: dict[str, tuple[str, ...]] = {}

    async def read(shard: int, device_id: str) -> StoredInstallation | None:
        key = InstallationKey(hub.name, shard, device_id)
        return await engine.installations.read(key, max_tags=hub.max_tags)

    async def fetch(shard: int, after: str | None, top: int) -> Rows:
        if tag.startswith(INSTALLATION_ID_PREFIX):
            installation_id = tag[len(INSTALLATION_ID_PREFIX) + 1 : -1]
            mine = shard == shard_of(installation_id, hub.shard_count) and after is None
            stored = await read(shard, installation_id) if mine else None
            return Rows([stored] if stored is not None else [], True, None)
        page = await reader.tag_page(hub.name, tag, shard, after, top)
        scopes.update({e.installation_id: e.scopes for e in page.entries})
        found = await asyncio.gather(*(read(shard, e.installation_id) for e in page.entries))
        return Rows([s for s in found if s is not None], page.exhausted, page.last_key)

    start = FeedPosition.of(_query(request, "ContinuationToken"))
    expand = _expander(caller, hub, None, scopes)
    entries, following = await feed_page(fetch, expand, hub.shard_count, start, _top(request))
    return _feed(request, hub, entries, following)
