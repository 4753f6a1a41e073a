"""A separate OS process that escalates through the real services (settings from HANDOFF_* env).

    python -m tests.notifications.escalating_process COUNT

Prints "ready" once its services run, waits for a line on stdin, escalates COUNT times, then waits
until no delivery is left to send (its own dispatcher and the other process's share the work).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys

import sqlalchemy as sa

from handoff_plugin.escalation.service import EscalationRequest
from handoff_plugin.models import Trigger, VisitorProfile
from handoff_plugin.services import reset_services, services
from handoff_plugin.store.tables import deliveries


async def unsent() -> int:
    store = (await services()).store
    async with store.transaction() as tx:
        query = sa.select(sa.func.count()).where(deliveries.c.status.in_(["pending", "sending"]))
        return int((await tx.conn.execute(query.select_from(deliveries))).scalar())


async def main(count: int) -> None:
    handoff = await services()
    await handoff.dispatcher.start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go"
    for n in range(count):
        request = EscalationRequest(
            sender_id=f"process-{os.getpid()}-{n}",
            channel="rest",
            trigger=Trigger.INTENT,
            message=f"a person please ({n})",
            profile=VisitorProfile(email=f"visitor{n}@example.com"),
        )
        outcome = await handoff.escalations.escalate(request)
        assert outcome.status == "created", outcome
        await asyncio.sleep(random.uniform(0, 0.02))
    for _ in range(600):  # up to 30 s
        if not await unsent():
            break
        await asyncio.sleep(0.05)
    await reset_services()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
