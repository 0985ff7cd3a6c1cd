"""TokenCache.send_with_refresh: one refresh, one resend of what the PNS refused the token for."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st
from unit.pns.keys import FakeClock

from shared.pns._http import TokenCache, TokenError
from shared.pns.base import Outcome, OutcomeKind, PushMessage

K = OutcomeKind


class FakePns:
    """Refuses the token ``tok-1`` for the handles in ``refuse`` (every token if ``always``)."""

    def __init__(self, refuse: Sequence[str], *, always: bool = False) -> None:
        self.refuse = set(refuse)
        self.always = always
        self.batches: list[tuple[str, list[str]]] = []

    async def send_with(self, token: str, messages: Sequence[PushMessage]) -> list[Outcome]:
        self.batches.append((token, [m.handle for m in messages]))
        await asyncio.sleep(0)  # let a concurrent batch send too, as over a real socket
        return [self._answer(token, m.handle) for m in messages]

    def _answer(self, token: str, handle: str) -> Outcome:
        if handle in self.refuse and (self.always or token == "tok-1"):
            return Outcome(K.CREDENTIALS_REJECTED, handle, 401, f"refused {token}")
        return Outcome(K.DELIVERED, handle, 200, token)


class Endpoint:
    """Hands out ``tok-1``, ``tok-2``, ...; fetches numbered in ``fail`` raise a TokenError."""

    def __init__(self, *fail: int) -> None:
        self.fail = set(fail)
        self.fetches = 0

    async def fetch(self) -> tuple[str, float]:
        self.fetches += 1
        if self.fetches in self.fail:
            raise TokenError("token endpoint: HTTP 503", K.TRANSIENT, 503)
        return f"tok-{self.fetches}", 3600.0


def refused(outcome: Outcome) -> bool:
    return outcome.status == 401


def batch(*handles: str) -> list[PushMessage]:
    return [PushMessage(h, b"{}") for h in handles]


async def send(endpoint: Endpoint, pns: FakePns, messages: list[PushMessage]) -> list[Outcome]:
    cache = TokenCache(endpoint.fetch, FakeClock())
    return await cache.send_with_refresh(messages, pns.send_with, refused=refused)


async def test_nothing_refused_means_one_fetch_and_one_send() -> None:
    endpoint, pns = Endpoint(), FakePns([])
    outcomes = await send(endpoint, pns, batch("a", "b"))
    assert [(o.kind, o.handle, o.reason) for o in outcomes] == [
        (K.DELIVERED, "a", "tok-1"),
        (K.DELIVERED, "b", "tok-1"),
    ]
    assert (endpoint.fetches, pns.batches) == (1, [("tok-1", ["a", "b"])])


async def test_refused_messages_are_resent_once_with_a_fresh_token_in_order() -> None:
    endpoint, pns = Endpoint(), FakePns(["b", "d"])
    outcomes = await send(endpoint, pns, batch("a", "b", "c", "d"))
    assert [(o.handle, o.reason) for o in outcomes] == [
        ("a", "tok-1"),
        ("b", "tok-2"),
        ("c", "tok-1"),
        ("d", "tok-2"),
    ]
    assert endpoint.fetches == 2
    assert pns.batches == [("tok-1", ["a", "b", "c", "d"]), ("tok-2", ["b", "d"])]


async def test_a_second_refusal_is_answered_not_resent() -> None:
    endpoint, pns = Endpoint(), FakePns(["a"], always=True)
    outcomes = await send(endpoint, pns, batch("a", "b"))
    assert [(o.kind, o.status, o.reason) for o in outcomes] == [
        (K.CREDENTIALS_REJECTED, 401, "refused tok-2"),
        (K.DELIVERED, 200, "tok-1"),
    ]
    assert (endpoint.fetches, len(pns.batches)) == (2, 2)


async def test_a_failing_first_fetch_answers_every_message_without_sending() -> None:
    endpoint, pns = Endpoint(1), FakePns([])
    outcomes = await send(endpoint, pns, batch("a", "b"))
    assert [(o.kind, o.handle, o.status) for o in outcomes] == [
        (K.TRANSIENT, "a", 503),
        (K.TRANSIENT, "b", 503),
    ]
    assert pns.batches == []


async def test_a_failing_refresh_answers_only_the_refused_messages() -> None:
    endpoint, pns = Endpoint(2), FakePns(["b"])
    outcomes = await send(endpoint, pns, batch("a", "b", "c"))
    assert [(o.kind, o.handle, o.reason) for o in outcomes] == [
        (K.DELIVERED, "a", "tok-1"),
        (K.TRANSIENT, "b", "token endpoint: HTTP 503"),
        (K.DELIVERED, "c", "tok-1"),
    ]
    assert (endpoint.fetches, pns.batches) == (2, [("tok-1", ["a", "b", "c"])])


async def test_concurrent_batches_refused_the_same_token_share_one_refresh() -> None:
    endpoint, pns = Endpoint(), FakePns(["a", "b"])
    cache = TokenCache(endpoint.fetch, FakeClock())
    first, second = await asyncio.gather(
        cache.send_with_refresh(batch("a"), pns.send_with, refused=refused),
        cache.send_with_refresh(batch("b"), pns.send_with, refused=refused),
    )
    assert [o.reason for o in first + second] == ["tok-2", "tok-2"]
    assert endpoint.fetches == 2
    assert sorted(pns.batches) == [
        ("tok-1", ["a"]),
        ("tok-1", ["b"]),
        ("tok-2", ["a"]),
        ("tok-2", ["b"]),
    ]


@given(
    handles=st.lists(st.text("abcdef", min_size=1, max_size=3), unique=True, max_size=8),
    data=st.data(),
)
def test_outcomes_follow_the_messages_and_only_refused_ones_are_resent(
    handles: list[str], data: st.DataObject
) -> None:
    refuse = data.draw(st.lists(st.sampled_from(handles), unique=True) if handles else st.just([]))
    endpoint, pns = Endpoint(), FakePns(refuse)
    outcomes = asyncio.run(send(endpoint, pns, batch(*handles)))
    assert [o.handle for o in outcomes] == handles
    assert all(o.kind is K.DELIVERED for o in outcomes)
    assert [o.reason for o in outcomes] == ["tok-2" if h in refuse else "tok-1" for h in handles]
    assert endpoint.fetches == (2 if refuse else 1)
    resent = [h for h in handles if h in refuse]
    assert pns.batches[1:] == ([("tok-2", resent)] if refuse else [])
