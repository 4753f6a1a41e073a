"""Settings saved from the inbox, layered over file and env, re-read by every process (at most
a second old).

(Here, not in `config/`: the typed settings know no database; this provider reads the store.)"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from pydantic import BaseModel, SecretStr

from handoff_plugin.config.settings import (
    Settings,
    build_settings,
    check_known_keys,
)
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.store import Store
from handoff_plugin.store.queries.settings import Actor, SettingsQueries

log = structlog.get_logger(__name__)
SECRET_WORDS = ("password", "secret", "token")


def is_secret(key: str) -> bool:
    """A setting the audit log must not show: typed as a secret, or named like one."""
    if any(word in key.rsplit(".", 1)[-1] for word in SECRET_WORDS):
        return True
    model: Any = Settings
    for part in key.split("."):
        field = getattr(model, "__fields__", {}).get(part)
        if field is None:
            return False
        if field.type_ is SecretStr:
            return True
        model = (
            field.type_
            if isinstance(field.type_, type) and issubclass(field.type_, BaseModel)
            else None
        )
    return False


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: the keys the audit log names."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):  # (an empty section holds no setting)
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _lookup(data: Mapping[str, Any] | None, key: str, fallback: Any) -> Any:
    """The effective value at a dotted key (file, env and saved layers merged), else `fallback`:
    "webhook.url: (from handoff.yml) -> new" reads better than "None -> new"."""
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return fallback
        value = value[part]
    return value


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) for every key that changed; None for absent."""
    before, after = flatten(old), flatten(new)
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


class StoredSettings:
    """`current()` reads the saved overrides (one small row) so a change made in any process
    applies from the next operation on, without a restart. `recent()` is for what every
    message asks (the size caps): it reuses what was read for up to `max_age` seconds (1 s), so
    a change saved in another process reaches those checks within about a second."""

    def __init__(
        self,
        store: Store,
        base: Sequence[Mapping[str, Any]],
        *,
        max_age: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._base = list(base)
        self._cache: tuple[str, Settings] | None = None
        self._max_age = max_age
        self._monotonic = monotonic
        self._read_at: float | None = None  # when `_cache` was last read from the database
        self.base_settings = build_settings(*self._base)  # validates file + env at start-up

    async def current(self) -> Settings:
        now = self._monotonic()
        saved = await self._store.run(
            lambda tx: SettingsQueries(tx).saved_settings(), read_only=True
        )
        return self._remember(saved, now)

    async def recent(self) -> Settings:
        """The settings as read at most `max_age` seconds ago (this process's own saves at once)."""
        if self._cache is not None and self._read_at is not None:
            if 0 <= self._monotonic() - self._read_at < self._max_age:
                return self._cache[1]
        return await self.current()

    def _remember(
        self, saved: Mapping[str, Any], read_at: float, settings: Settings | None = None
    ) -> Settings:
        key = json.dumps(saved, sort_keys=True)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, settings or build_settings(*self._base, saved))
        self._read_at = read_at
        return self._cache[1]

    async def save(self, changes: Mapping[str, Any], actor: Actor | None = None) -> Settings:
        """Merge `changes` into the saved overrides; invalid values raise ConfigurationError."""
        check_known_keys(changes, "the saved settings")

        def merge(saved: dict[str, Any]) -> dict[str, Any]:
            for section, values in changes.items():
                saved[section] = {**saved.get(section, {}), **values}
            return saved

        return await self.update(merge, sections=sorted(changes), actor=actor)

    async def update(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        sections: list[str],
        actor: Actor | None = None,
    ) -> Settings:
        """Replace the saved overrides by `change(saved)`, read and written in one transaction
        (two agents saving at once both keep their changes); invalid results are refused. Each
        changed key is written to the audit log in the same transaction: no change goes
        unrecorded, no entry names a change that was rolled back."""
        async with self._store.transaction() as tx:
            queries = SettingsQueries(tx)
            before = await queries.saved_settings()
            saved = change(copy.deepcopy(before))
            check_known_keys(saved, "the saved settings")
            settings = build_settings(*self._base, saved)  # refuse before writing
            await queries.save_settings(saved)
            changed = differences(before, saved)
            shown_before = self._effective(before)
            shown_after = json.loads(settings.json())
            for key, old, new in changed:
                await queries.record_change(
                    actor,
                    key,
                    _lookup(shown_before, key, old),
                    _lookup(shown_after, key, new),
                    secret=is_secret(key),
                )
        self._remember(saved, self._monotonic(), settings)  # this process sees it at once
        log.info(
            "handoff.settings.saved",
            sections=sections,
            keys=len(changed),
            agent_id=actor.agent_id if actor else None,
        )
        return settings

    def _effective(self, saved: Mapping[str, Any]) -> dict[str, Any] | None:
        """The settings these overrides gave (what the audit log shows as the old value)."""
        try:
            return dict(json.loads(build_settings(*self._base, saved).json()))
        except ConfigurationError:  # file or env changed since: show the saved value instead
            return None

    async def saved(self) -> dict[str, Any]:
        """The overrides saved from the inbox (not the file or env layers)."""
        return await self._store.run(
            lambda tx: SettingsQueries(tx).saved_settings(), read_only=True
        )
