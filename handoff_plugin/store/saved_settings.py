"""Settings saved from the inbox, layered over file and env, read fresh by every process.

(Here, not in `config/`: the typed settings know no database; this provider reads the store.)"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from handoff_plugin.config.settings import Settings, build_settings, check_known_keys
from handoff_plugin.store import Store
from handoff_plugin.store.queries.settings import SettingsQueries

log = structlog.get_logger(__name__)


class StoredSettings:
    """`current()` reads the saved overrides (one small row) so a change made in any process
    applies from the next operation on, without a restart."""

    def __init__(self, store: Store, base: Sequence[Mapping[str, Any]]) -> None:
        self._store = store
        self._base = list(base)
        self._cache: tuple[str, Settings] | None = None
        self.base_settings = build_settings(*self._base)  # validates file + env at start-up

    async def current(self) -> Settings:
        async with self._store.transaction() as tx:
            saved = await SettingsQueries(tx).saved_settings()
        key = json.dumps(saved, sort_keys=True)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, build_settings(*self._base, saved))
        return self._cache[1]

    async def save(self, changes: Mapping[str, Any]) -> Settings:
        """Merge `changes` into the saved overrides; invalid values raise ConfigurationError."""
        check_known_keys(changes, "the saved settings")

        def merge(saved: dict[str, Any]) -> dict[str, Any]:
            for section, values in changes.items():
                saved[section] = {**saved.get(section, {}), **values}
            return saved

        return await self.update(merge, sections=sorted(changes))

    async def update(
        self, change: Callable[[dict[str, Any]], dict[str, Any]], *, sections: list[str]
    ) -> Settings:
        """Replace the saved overrides by `change(saved)`, read and written in one transaction
        (two agents saving at once both keep their changes); invalid results are refused."""
        async with self._store.transaction() as tx:
            saved = change(await SettingsQueries(tx).saved_settings())
            check_known_keys(saved, "the saved settings")
            settings = build_settings(*self._base, saved)  # refuse before writing
            await SettingsQueries(tx).save_settings(saved)
        log.info("handoff.settings.saved", sections=sections)
        return settings

    async def saved(self) -> dict[str, Any]:
        """The overrides saved from the inbox (not the file or env layers)."""
        async with self._store.transaction() as tx:
            return await SettingsQueries(tx).saved_settings()
