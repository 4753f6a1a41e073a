"""Roles, the settings audit log and the login throttle at the storage level."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from handoff_plugin.errors import PermissionDenied
from handoff_plugin.inbox.agents import AgentService
from handoff_plugin.inbox.login_throttle import LoginThrottle, ThrottlePolicy
from handoff_plugin.store import Store, open_store
from handoff_plugin.store.engine import _alembic_config
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.settings import Actor, SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings, differences, is_secret
from tests.conftest import FakeClock
from tests.integration.inbox.conftest import PASSWORD, cheap_passwords


async def test_agents_that_existed_before_roles_become_admins(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    old = await open_store(url, upgrade=False)
    async with old.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "0004"))
        await conn.execute(
            sa.text(
                "INSERT INTO agents (email, name, password_hash, created_at, updated_at) "
                "VALUES ('old@example.com', 'Old', 'x', '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"
            )
        )
    await old.upgrade()
    agents = AgentService(old, cheap_passwords())
    await agents.add("new@example.com", "New", PASSWORD)
    assert [(a.email, a.role) for a in await agents.all()] == [
        ("new@example.com", "agent"),
        ("old@example.com", "admin"),
    ]
    await old.close()


async def test_the_last_admin_and_oneself_cannot_be_removed(store: Store) -> None:
    agents = AgentService(store, cheap_passwords())
    ada = await agents.add("ada@example.com", "Ada", PASSWORD, "admin")
    bob = await agents.add("bob@example.com", "Bob", PASSWORD)
    with pytest.raises(PermissionDenied, match="yourself"):
        await agents.remove_by(ada, ada.id)
    with pytest.raises(PermissionDenied, match="last admin"):
        await agents.remove_by(bob, ada.id)  # (the API lets only admins here; storage agrees)
    assert (await agents.remove_by(ada, bob.id)).email == "bob@example.com"


def test_secrets_are_known_by_type_and_by_name() -> None:
    assert is_secret("slack.bot_token") and is_secret("webhook.secret")
    assert is_secret("email.smtp_password") and is_secret("livechat.session_secret")
    assert not is_secret("webhook.url") and not is_secret("localization.texts.de.email_prompt")


def test_differences_name_each_changed_key_with_dots() -> None:
    old: dict[str, Any] = {"webhook": {"url": "a", "enabled": True}, "localization": {}}
    new = {
        "webhook": {"url": "b", "enabled": True},
        "localization": {"texts": {"de": {"cancelled": "x"}}},
    }
    assert differences(old, new) == [
        ("localization.texts.de.cancelled", None, "x"),
        ("webhook.url", "a", "b"),
    ]


async def test_a_saved_change_is_audited_with_its_author(store: Store, database_url: str) -> None:
    provider = StoredSettings(store, [{"database": {"url": database_url}}])
    await provider.save({"chatbot": {"name": "Shop"}}, Actor(7, "ada@example.com"))
    await provider.save({"webhook": {"secret": "hush-hush"}})  # the server itself
    async with store.transaction() as tx:
        changes = await SettingsQueries(tx).changes(10)
    assert [(c.key, c.agent_email, c.old, c.new, c.secret) for c in changes] == [
        ("webhook.secret", None, None, None, True),
        ("chatbot.name", "ada@example.com", "Assistant", "Shop", False),
    ]


async def test_an_attempt_is_counted_before_the_password_is_checked(
    store: Store, clock: FakeClock
) -> None:
    throttle = LoginThrottle(
        account=ThrottlePolicy(2, timedelta(minutes=15), timedelta(minutes=15))
    )
    keys = ["account:ann@example.com", "ip:192.0.2.1"]
    waits = []
    for _ in range(3):
        async with store.transaction() as tx:
            waits.append(await throttle.attempt(AgentQueries(tx), keys, clock()))
    assert waits[:2] == [0.0, 0.0] and waits[2] == 15 * 60  # the third is refused, uncounted
    async with store.transaction() as tx:
        q = AgentQueries(tx)
        assert (await q.throttle("account:ann@example.com")).failures == 2  # type: ignore[union-attr]
        await throttle.succeeded(q, "account:ann@example.com", "ip:192.0.2.1")
        assert await q.throttle("account:ann@example.com") is None
        assert (await q.throttle("ip:192.0.2.1")).failures == 1  # type: ignore[union-attr]
