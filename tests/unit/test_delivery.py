"""deliver(): whatever goes wrong for one device is that device's outcome, never the page's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.delivery import deliver
from shared.fanout.select import Target
from shared.hubs.model import Hub
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage, Sender

HUB = Hub.new("unit")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Recording:
    platform = Platform.APNS

    def __init__(self, *, broken: bool = False) -> None:
        self.sent: list[str] = []
        self.broken = broken

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        if self.broken:
            raise RuntimeError("a bug in the sender")
        self.sent += [m.handle for m in messages]
        return [Outcome(OutcomeKind.DELIVERED, m.handle, 200, "") for m in messages]

    async def aclose(self) -> None:
        pass


class Pool:
    def __init__(self, senders: dict[Platform, Sender]) -> None:
        self.senders = senders

    def get(self, hub: Hub, platform: Platform) -> Sender | None:
        return self.senders.get(platform)


def _target(n: int, platform: str = "apns") -> Target:
    return Target(f"dev{n}", {"platform": platform, "channel": f"{n:064x}"})


def _render_all_but(bad: str) -> object:
    def render(target: Target, platform: Platform) -> PushMessage:
        if target.installation_id == bad:
            raise KeyError("a view the renderer did not expect")
        return PushMessage(str(target.view["channel"]), b"{}")

    return render


async def test_a_render_that_raises_fails_only_its_device() -> None:
    sender = Recording()
    targets = [_target(n) for n in range(5)]
    delivery = await deliver(
        Pool({Platform.APNS: sender}),  # type: ignore[arg-type]
        HUB,
        "n1",
        targets,
        _render_all_but("dev2"),  # type: ignore[arg-type]
        NOW,
    )
    assert sender.sent == [str(t.view["channel"]) for t in targets if t.installation_id != "dev2"]
    (failure,) = delivery.result.failures
    assert failure["installationId"] == "dev2"
    assert "KeyError" in failure["reason"]
    assert delivery.result.counts == {"apns": {"Success": 4, "PnsInterfaceError": 1}}


async def test_a_sender_that_raises_fails_its_own_batch_without_a_retry() -> None:
    healthy = Recording()
    pool = Pool({Platform.APNS: Recording(broken=True), Platform.WNS: healthy})
    targets = [_target(1), _target(2), _target(3, "wns")]
    delivery = await deliver(
        pool,  # type: ignore[arg-type]
        HUB,
        "n1",
        targets,
        _render_all_but("none"),  # type: ignore[arg-type]
        NOW,
    )
    assert healthy.sent == [str(targets[2].view["channel"])]
    assert delivery.retry == []
    assert delivery.result.counts == {"apns": {"UnknownError": 2}, "wns": {"Success": 1}}
    assert all("a bug in the sender" in f["reason"] for f in delivery.result.failures)
