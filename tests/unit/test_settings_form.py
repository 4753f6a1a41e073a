"""The Settings page shows a refusal next to the input the error names, not one guessed from text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from handoff_plugin.config.settings import Settings
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.inbox.settings_form import SettingsRejected, save_settings


class RefusingSettings:
    """Stands in for StoredSettings: refuses every change with `error`."""

    def __init__(self, error: ConfigurationError) -> None:
        self.error = error
        self.changed: list[dict[str, Any]] = []

    async def update(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        sections: list[str],
        actor: object = None,
    ) -> Settings:
        self.changed.append(change({}))
        raise self.error


async def test_a_refused_change_names_the_field_the_error_carries() -> None:
    # The message mentions other settings: only `field` decides where the reason is shown.
    message = "handoff: invalid settings: webhook.enabled and slack.channel disagree"
    error = ConfigurationError(message, field="email.recipients")
    provider = RefusingSettings(error)
    with pytest.raises(SettingsRejected) as rejected:
        await save_settings(provider, {"email": {"round_robin": True}})  # type: ignore[arg-type]
    assert provider.changed == [{"email": {"round_robin": True}}]  # the change was tried
    assert rejected.value.field == "email.recipients"
    assert str(rejected.value) == "invalid settings: webhook.enabled and slack.channel disagree"


async def test_a_refusal_without_a_field_is_shown_for_the_whole_form() -> None:
    provider = RefusingSettings(ConfigurationError("handoff: invalid settings: email.x is odd"))
    with pytest.raises(SettingsRejected) as rejected:
        await save_settings(provider, {"email": {"round_robin": True}})  # type: ignore[arg-type]
    assert rejected.value.field is None
