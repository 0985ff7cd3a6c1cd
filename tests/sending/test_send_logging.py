"""What the host's log holds after a send, as an operator reads it: one line when the send
starts and one when it completes, with its id and counts; a warning naming a dead handle's
reason; the steps themselves quiet at INFO; and refusals logged with their real status."""

from __future__ import annotations

import asyncio
import re
import time

from sending.conftest import Stack, seed_tagged

from shared.fanout.audience import SMALL_AUDIENCE
from support.processes import HostProcess


async def _logged(app: HostProcess, pattern: str, timeout: float = 30) -> list[str]:
    """The log lines matching ``pattern``, once at least one is there."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in app.log().splitlines() if re.search(pattern, line)]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_a_send_logs_one_start_and_one_completion_line(
    stack: Stack, app: HostProcess
) -> None:
    hub = stack.nh.hub.name
    async with stack.nh.client() as http:
        alive, dead = await stack.device("apns"), await stack.device("apns")
        await stack.register(http, alive, tags=["loggers"])
        await stack.register(http, dead, tags=["loggers"])
        await stack.sims.control.mark_handle("apns", dead.sim_key)
        notification = await stack.send(http, '{"aps":{"alert":"hi"}}', "apple", "loggers")
        await stack.finished(http, notification)
    completed = await _logged(app, f"Send {notification} on hub {hub} completed")
    started = [line for line in app.log().splitlines() if f"Send {notification} on hub" in line]
    assert len(completed) == 1, started
    assert completed[0].endswith("(Completed): ExpiredChannel 1, Success 1")
    (start,) = [line for line in started if "started" in line]
    assert "INFO" in start
    assert "apple format to tags 'loggers'" in start
    (warning,) = [line for line in started if "failed" in line]
    assert "WARNING" in warning
    assert "1 delivery(ies) failed: 1 apns" in warning
    assert "1 dead handle(s) reported for pruning" in warning
    # The queue steps are quiet at INFO: no "Executed 'fanout_worker'" line for this send.
    assert "Executed 'fanout_worker'" not in app.log()


async def test_refusals_are_logged_with_their_status(stack: Stack, app: HostProcess) -> None:
    hub = stack.nh.hub.name
    async with stack.nh.client() as http:
        refused = await http.post(
            "/messages/",
            content=b"{}",
            headers={"Authorization": "SharedAccessSignature sr=x&sig=y&se=1&skn=z"},
        )
        missing = await http.get("/installations/nobody", headers=stack.nh.headers())
    assert (refused.status_code, missing.status_code) == (401, 404)
    (herald_line,) = await _logged(app, f"POST /{hub}/messages/ answered 401")
    assert "INFO" in herald_line
    (host_line,) = await _logged(app, rf"Executed 'send_notification' .*POST /{hub}/messages/.*")
    assert host_line.endswith("Succeeded, HTTP 401")
    assert await _logged(
        app, f"GET /{hub}/installations/nobody answered 404 .*Installation not found"
    )


async def test_a_walked_send_reports_its_completion_once(
    stack: Stack, app: HostProcess, azurite: str
) -> None:
    # More than a small audience: the send is walked in every shard, whose last steps finish
    # together; one of them reports the completion.
    await seed_tagged(azurite, stack, SMALL_AUDIENCE + 1, "crowd")
    async with stack.nh.client() as http:
        notification = await stack.send(http, '{"aps":{"alert":"hi"}}', "apple", "crowd")
        await stack.finished(http, notification)
    assert await _logged(app, f"Send {notification} .* completed")
    await asyncio.sleep(1)  # let any other step that saw it complete have its say
    lines = app.log().splitlines()
    (completed,) = [
        line for line in lines if f"Send {notification}" in line and "completed" in line
    ]
    assert completed.endswith(f"(Completed): Success {SMALL_AUDIENCE + 1}")
    (started,) = [line for line in lines if f"Send {notification}" in line and "started" in line]
    assert f"in {stack.nh.hub.shard_count} shard(s)" in started
