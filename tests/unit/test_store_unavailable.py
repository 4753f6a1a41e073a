"""A database that cannot be reached is a clear, retryable error, not a crash."""

from __future__ import annotations

import pytest

from handoff_plugin.errors import DatabaseUnavailable, Unavailable
from handoff_plugin.store import open_store
from handoff_plugin.store.queries.conversations import ConversationQueries
from tests.servers import free_port


async def test_an_unreachable_database_says_retry_and_nothing_begins() -> None:
    url = f"postgresql+asyncpg://handoff:x@127.0.0.1:{free_port()}/handoff"  # nothing listens
    store = await open_store(url, upgrade=False)
    ran = False
    try:
        with pytest.raises(DatabaseUnavailable, match="retry") as raised:
            async with store.transaction() as tx:
                ran = True
                await ConversationQueries(tx).ensure_conversation("a", "rest")
    finally:
        await store.close()
    assert isinstance(raised.value, Unavailable)  # the inbox answers 503 + Retry-After
    assert not ran
