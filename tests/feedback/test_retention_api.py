"""After a timer run, history past its retention is gone from GET /{hub}/feedback and from the
feedbackcontainer, and the run's deletions are counted in the hub's hygiene summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient
from sending.conftest import Stack

from shared.engine import Engine
from shared.feedback.container import blob_name
from shared.store.hygiene import HygieneStore
from support.processes import HostProcess

from .conftest import all_feedback, container_url, history_entry, read_container, run_timer


async def test_history_past_retention_leaves_the_api_and_the_container(
    stack: Stack, app: HostProcess, engine: Engine
) -> None:
    hub = stack.nh.hub.name
    now = datetime.now(UTC)
    old, new = now - timedelta(days=40), now - timedelta(minutes=5)
    for platform in ("apns", "fcmv1"):
        await engine.feedback.add(hub, history_entry(platform, f"old-{platform}", old))
        await engine.feedback.add(hub, history_entry(platform, f"new-{platform}", new))
    days = {old.strftime("%Y%m%d"), new.strftime("%Y%m%d")}
    await HygieneStore(engine.tables).add_to_summary(hub, {}, days, now)
    async with stack.nh.client() as http:
        before = {entry["handle"] for entry in await all_feedback(stack, http)}

    await run_timer(app)

    async with stack.nh.client() as http:
        after = {entry["handle"] for entry in await all_feedback(stack, http)}
        hygiene = (await http.get("/feedback", headers=stack.nh.headers())).json()["hygiene"]
    url = await container_url(stack)
    blobs = await read_container(url)
    async with ContainerClient.from_container_url(url) as container:
        try:
            await container.download_blob(blob_name(old.strftime("%Y%m%d")))
            old_blob = "found"
        except ResourceNotFoundError:
            old_blob = "gone"
    assert before == {"old-apns", "old-fcmv1", "new-apns", "new-fcmv1"}
    assert after == {"new-apns", "new-fcmv1"}
    assert hygiene["lastRun"] == {"historyDeleted": 2}
    assert hygiene["totals"]["historyDeleted"] == 2
    assert list(blobs) == [blob_name(new.strftime("%Y%m%d"))]
    assert blobs.popitem()[1].decode().count("<PnsFeedback") == 2
    assert old_blob == "gone"
