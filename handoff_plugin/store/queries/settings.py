"""The settings saved from the inbox (one row, a JSON document) and their audit log, inside a
transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from handoff_plugin.config.settings import SECRET_KEYS
from handoff_plugin.models import SettingChange
from handoff_plugin.store.engine import StoreTransaction
from handoff_plugin.store.tables import settings_audit, settings_overrides


@dataclass(frozen=True)
class Actor:
    """Who changes settings: an agent (id and email are copied into the log), or None."""

    agent_id: int
    email: str


def _change(row: Row) -> SettingChange:
    def value(raw: str | None) -> Any:
        return None if raw is None else json.loads(raw)

    return SettingChange(
        id=row.id,
        changed_at=row.changed_at,
        agent_id=row.agent_id,
        agent_email=row.agent_email,
        key=row.key,
        old=value(row.old_value),
        new=value(row.new_value),
        secret=bool(row.secret),
    )


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

    # --- the audit log ---

    async def record_change(
        self, actor: Actor | None, key: str, old: Any, new: Any, *, secret: bool
    ) -> None:
        def encoded(value: Any) -> str | None:
            return None if value is None or secret else json.dumps(value, ensure_ascii=False)

        await self.conn.execute(
            settings_audit.insert().values(
                changed_at=self.clock(),
                agent_id=actor.agent_id if actor else None,
                agent_email=actor.email if actor else None,
                key=key[:400],
                old_value=encoded(old),
                new_value=encoded(new),
                secret=secret,
            )
        )

    async def changes(self, limit: int, before_id: int | None = None) -> list[SettingChange]:
        """The newest changes first; `before_id` continues after the last one of a page."""
        query = sa.select(settings_audit).order_by(settings_audit.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(settings_audit.c.id < before_id)
        return [_change(row) for row in (await self.conn.execute(query)).all()]
