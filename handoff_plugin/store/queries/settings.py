"""The settings saved from the inbox (one row, a JSON document), inside a transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import settings_overrides


class SettingsQueries:
    def __init__(self, tx: StoreTransaction) -> None:
        self.conn = tx.conn
        self.clock = tx.clock

    async def saved_settings(self) -> dict[str, Any]:
        row = (
            await self.conn.execute(
                sa.select(settings_overrides.c.data).where(settings_overrides.c.id == 1)
            )
        ).first()
        return dict(row.data) if row else {}

    async def save_settings(self, data: dict[str, Any]) -> None:
        values = {"data": data, "updated_at": self.clock()}
        updated = await self.conn.execute(
            settings_overrides.update().where(settings_overrides.c.id == 1).values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(settings_overrides.insert().values(id=1, **values))
