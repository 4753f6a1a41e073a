"""The settings saved from the inbox (one row, a JSON document), inside a transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from handoff_plugin.config.settings import SECRET_KEYS
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import settings_overrides


def _map_secrets(data: dict[str, Any], change: Any) -> dict[str, Any]:
    """`data` with every secret string (SECRET_KEYS) replaced by `change(value)`."""
    out: dict[str, Any] = {}
    for section, values in data.items():
        if isinstance(values, dict):
            values = {
                key: change(value)
                if (section, key) in SECRET_KEYS and isinstance(value, str) and value
                else value
                for key, value in values.items()
            }
        out[section] = values
    return out


class SettingsQueries:
    """Secrets among the saved settings are encrypted in the row and plain to callers; ones
    saved before encryption existed are read as they are and encrypted on the next save."""

    def __init__(self, tx: StoreTransaction) -> None:
        self.conn = tx.conn
        self.clock = tx.clock
        self.secrets = tx.secrets

    async def saved_settings(self) -> dict[str, Any]:
        row = (
            await self.conn.execute(
                sa.select(settings_overrides.c.data).where(settings_overrides.c.id == 1)
            )
        ).first()
        return _map_secrets(dict(row.data), self.secrets.decrypt) if row else {}

    async def save_settings(self, data: dict[str, Any]) -> None:
        values = {"data": _map_secrets(data, self.secrets.encrypt), "updated_at": self.clock()}
        updated = await self.conn.execute(
            settings_overrides.update().where(settings_overrides.c.id == 1).values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(settings_overrides.insert().values(id=1, **values))
