"""A writer killed between any two storage steps loses no device, and the timer's next run
leaves no stale tag-index row behind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from shared.engine import Engine
from shared.model.installation import Installation, parse_installation
from shared.registry.view import index_of
from shared.store.installations import InstallationKey, InstallationStore
from support.processes import HostProcess

from .storage_view import index_rows


class Crash(BaseException):
    """The writer dies here: nothing after this point of the write happens."""


@dataclass
class CrashAt:
    step: int
    taken: list[str] = field(default_factory=list)

    def __call__(self, name: str) -> None:
        if len(self.taken) >= self.step:
            raise Crash(name)
        self.taken.append(name)


def make(installation_id: str, **fields: object) -> Installation:
    body = {"installationId": installation_id, "platform": "apns", "pushChannel": "00fe", **fields}
    return parse_installation(body, max_tags=200)


Write = Callable[[InstallationStore, InstallationKey], object]

# Each scenario: what is stored first, then the change whose writer dies.
SCENARIOS = {
    "create": (None, make("d", tags=["a", "b"], userId="u")),
    "retag": (make("d", tags=["a", "b"]), make("d", tags=["b", "c", "e"])),
    "new channel": (make("d", tags=["a"]), make("d", tags=["a"], pushChannel="00ff")),
    "delete": (make("d", tags=["a", "b"]), None),
}
# The storage writes of each change: the row, each index row that changes, then the settle.
STEPS = {"create": 5, "retag": 5, "new channel": 3, "delete": 4}


async def _write(store: InstallationStore, key: InstallationKey, new: Installation | None) -> None:
    stored = await store.read(key, max_tags=200)
    if new is None:
        assert stored is not None
        await store.delete(key, stored)
    else:
        await store.save(key, stored, new)


async def _run_timer(app: HostProcess) -> None:
    async with httpx.AsyncClient(base_url=app.url) as http:
        response = await http.post(
            "/admin/functions/feedback_processor",
            json={"input": ""},
            headers={"x-functions-key": app.master_key},
        )
    assert response.status_code == 202


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_killing_the_writer_at_every_step_converges_after_the_timer(
    scenario: str, app: HostProcess, engine: Engine, azurite: str
) -> None:
    before, after = SCENARIOS[scenario]
    for step in range(STEPS[scenario] + 1):
        hub = f"crash{uuid.uuid4().hex[:10]}"
        key = InstallationKey.of(hub, "d", 16)
        setup = InstallationStore(engine.tables)
        if before is not None:
            await setup.save(key, None, before)
        crashing = InstallationStore(engine.tables, step=CrashAt(step), parallel_writes=1)
        try:
            await _write(crashing, key, after)
            crashed = False
        except Crash:
            crashed = True
        assert crashed == (step < STEPS[scenario]), f"{scenario}: {STEPS[scenario]} steps"

        # The row is the truth from its write on: before it the old state, after it the new.
        committed = after if step > 0 else before
        stored = await setup.read(key, max_tags=200)
        if after is None and step > 0:
            assert stored is None or stored.installation is None  # deleting, never half-alive
        else:
            assert (stored.installation if stored else None) == committed

        await _run_timer(app)

        final = await setup.read(key, max_tags=200)
        assert (final.installation if final else None) == committed
        assert final is None or not final.pending
        expected = set() if committed is None else {(tag, "d") for tag in index_of(committed)}
        assert await index_rows(engine, hub) == expected, f"{scenario}, crash before step {step}"
