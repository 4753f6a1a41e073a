"""Secrets saved in the database are encrypted; .handoff/ and its files are private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from handoff_plugin.config.settings import build_settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.livechat.sessions import SECRET_NAME, session_secret
from handoff_plugin.store import open_store
from handoff_plugin.store.saved_settings import StoredSettings
from handoff_plugin.store.secret_box import SecretBox, secret_box
from handoff_plugin.store.tables import generated_secrets, settings_overrides


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _raw_row(store, table, column):  # type: ignore[no-untyped-def]
    async with store.engine.connect() as conn:
        return (await conn.execute(sa.select(table.c[column]))).scalar_one()


async def test_the_database_directory_and_files_are_private_to_their_owner(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/.handoff/handoff.db"
    store = await open_store(url)
    async with store.engine.connect() as conn:  # open: the -wal and -shm files exist
        await conn.execute(
            settings_overrides.insert().values(id=1, data={}, updated_at=store.clock())
        )
        files = sorted((tmp_path / ".handoff").iterdir())
        names = {f.name for f in files}
        assert names >= {"handoff.db", "handoff.db-wal", "handoff.db-shm", "secret.key"}
        assert _mode(tmp_path / ".handoff") == 0o700
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    await store.close()


async def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    (tmp_path / "handoff.db").touch(mode=0o644)
    (tmp_path / "handoff.db").chmod(0o644)
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/handoff.db")
    assert _mode(tmp_path / "handoff.db") == 0o600
    await store.close()


async def test_saved_secrets_are_encrypted_in_the_database_and_plain_to_the_product(
    database_url: str,
) -> None:
    store = await open_store(database_url)
    provider = StoredSettings(store, [{"database": {"url": database_url}}])
    await provider.save({"slack": {"bot_token": "xoxb-secret-token"}, "webhook": {"secret": "s3"}})
    raw = json.dumps(await _raw_row(store, settings_overrides, "data"))
    assert "xoxb-secret-token" not in raw and '"s3"' not in raw and "fernet:" in raw
    settings = await provider.current()
    assert settings.slack.bot_token.get_secret_value() == "xoxb-secret-token"
    assert settings.webhook.secret.get_secret_value() == "s3"
    await store.close()


async def test_a_secret_saved_in_clear_before_encryption_is_read_then_encrypted_on_next_save(
    database_url: str,
) -> None:
    store = await open_store(database_url)
    async with store.engine.begin() as conn:  # what an older version wrote
        await conn.execute(
            settings_overrides.insert().values(
                id=1, data={"slack": {"bot_token": "xoxb-old"}}, updated_at=store.clock()
            )
        )
    provider = StoredSettings(store, [{"database": {"url": database_url}}])
    assert (await provider.current()).slack.bot_token.get_secret_value() == "xoxb-old"
    await provider.save({"chatbot": {"name": "Ann"}})
    assert "xoxb-old" not in json.dumps(await _raw_row(store, settings_overrides, "data"))
    assert (await provider.current()).slack.bot_token.get_secret_value() == "xoxb-old"
    await store.close()


async def test_the_generated_session_secret_is_encrypted_and_an_old_clear_one_is_kept(
    database_url: str,
) -> None:
    store = await open_store(database_url)
    async with store.engine.begin() as conn:
        await conn.execute(
            generated_secrets.insert().values(
                name=SECRET_NAME, value="clear-old-secret-value", created_at=store.clock()
            )
        )
    settings = build_settings({"database": {"url": database_url}})
    assert await session_secret(settings, store) == b"clear-old-secret-value"
    stored = await _raw_row(store, generated_secrets, "value")
    assert stored.startswith("fernet:") and "clear-old-secret-value" not in stored
    assert await session_secret(settings, store) == b"clear-old-secret-value"
    await store.close()


async def test_a_rotated_key_list_still_reads_secrets_of_the_old_key(database_url: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = secret_box(database_url, old).encrypt("xoxb-1")
    assert secret_box(database_url, f"{new}; {old}").decrypt(sealed) == "xoxb-1"
    with pytest.raises(ConfigurationError, match="HANDOFF_SECURITY_SECRET_KEY"):
        secret_box(database_url, new).decrypt(sealed)


def test_a_server_database_without_a_key_refuses_to_store_secrets_and_says_how_to_make_one() -> (
    None
):
    box = secret_box("postgresql+asyncpg://u:p@db/handoff")
    with pytest.raises(ConfigurationError) as error:
        box.encrypt("xoxb")
    assert "HANDOFF_SECURITY_SECRET_KEY" in str(error.value)
    assert "Fernet.generate_key()" in str(error.value)
    assert box.decrypt("written-in-clear") == "written-in-clear"  # the migration path still reads


def test_a_malformed_key_is_refused_at_start_up_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as error:
        build_settings({"security": {"secret_key": "not-a-fernet-key"}})
    assert "not-a-fernet-key" not in str(error.value)
    assert "security.secret_key" in str(error.value) and "generate_key" in str(error.value)


def test_secret_box_without_keys_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="security.secret_key"):
        SecretBox([], missing_reason="x").encrypt("y")


def test_check_masks_passwords_in_urls_and_the_webhook_url() -> None:
    masked = build_settings(
        {
            "database": {"url": "postgresql://bob:hunter2@db.internal/handoff"},
            "webhook": {"url": "https://hooks.example.com/T0/secret-token"},
            "security": {"secret_key": Fernet.generate_key().decode()},
        }
    ).masked()
    text = json.dumps(masked)
    assert "hunter2" not in text and "secret-token" not in text
    assert masked["database"]["url"] == "postgresql+asyncpg://bob:********@db.internal/handoff"
    assert masked["webhook"]["url"] == "********" and masked["security"]["secret_key"] == "********"
