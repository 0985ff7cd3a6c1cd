"""deliver() counts for the hub's metrics: every PNS answer (retried ones too), every target no
PNS was asked to take as dropped, and the time of each PNS call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.delivery import abandon, deliver
from shared.fanout.select import Target
from shared.hubs.model import Hub
from shared.pns.base import Outcome, OutcomeKind, Platform, PushMessage, Sender
from shared.sending.outcomes import NhOutcome

HUB = Hub.new("unit")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ANSWERS = {"0": OutcomeKind.DELIVERED, "1": OutcomeKind.THROTTLED, "2": OutcomeKind.EXPIRED_HANDLE}


class Answering:
    """Answers by the handle's last digit (ANSWERS), delivered otherwise."""

    platform = Platform.APNS

    async def send(self, messages: Sequence[PushMessage]) -> list[Outcome]:
        kinds = [ANSWERS.get(m.handle[-1], OutcomeKind.DELIVERED) for m in messages]
        return [Outcome(kind, m.handle, 200, "") for kind, m in zip(kinds, messages, strict=True)]

    async def aclose(self) -> None:
        pass


class Pool:
    def get(self, hub: Hub, platform: Platform) -> Sender | None:
        return Answering() if platform is Platform.APNS else None


def _target(n: int, platform: str = "apns") -> Target:
    return Target(f"dev{n}", {"platform": platform, "channel": f"{n:064x}"})


def _render(target: Target, platform: Platform) -> PushMessage | Outcome:
    if target.installation_id == "dev9":
        return Outcome(OutcomeKind.PAYLOAD_REJECTED, "", None, "no template")
    return PushMessage(str(target.view["channel"]), b"{}")


async def test_each_answer_and_each_target_left_unsent_is_counted_once() -> None:
    targets = [_target(n) for n in (0, 1, 2, 3, 9)] + [_target(4, "wns"), _target(5, "mpns")]
    delivery = await deliver(Pool(), HUB, "n1", targets, _render, NOW)  # type: ignore[arg-type]
    tally = dict(delivery.tally)
    latency = {k: tally.pop(k) for k in list(tally) if k.startswith("l")}
    assert tally == {
        "d|apns|delivered": 2,
        "d|apns|throttled": 1,  # counted when answered, though it is retried later
        "d|apns|expired_handle": 1,
        "d|apns|dropped": 1,  # its template did not render
        "d|wns|dropped": 1,  # the hub has no WNS credentials
        "d|mpns|dropped": 1,  # no sender for the platform
    }
    assert latency["l|apns"] == 1  # one call to the APNs sender, for four messages
    assert latency["lx|apns"] == latency["ls|apns"] >= 0
    assert len(delivery.retry) == 1


def test_targets_abandoned_count_as_dropped() -> None:
    delivery = abandon([_target(1), _target(2, "gcm")], NhOutcome.DROPPED, "the TTL passed")
    assert dict(delivery.tally) == {"d|apns|dropped": 1, "d|fcmv1|dropped": 1}
