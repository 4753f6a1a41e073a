from pathlib import Path

import pytest

from handoff_plugin.config.settings import load_settings
from handoff_plugin.errors import ConfigurationError


def test_delivery_settings_come_from_env_vars(tmp_path: Path) -> None:
    env = {"HANDOFF_DELIVERY_GIVE_UP_AFTER": "3600", "HANDOFF_DELIVERY_CONCURRENCY": "2"}
    settings = load_settings(env, config_path=tmp_path / "none.yml")
    assert settings.delivery.give_up_after == 3600
    assert settings.delivery.concurrency == 2


def test_a_lease_shorter_than_a_send_timeout_is_refused_naming_both_keys(tmp_path: Path) -> None:
    env = {
        "HANDOFF_DELIVERY_LEASE_SECONDS": "20",
        "HANDOFF_WEBHOOK_ENABLED": "true",
        "HANDOFF_WEBHOOK_URL": "https://hooks.example.com/handoff",
        "HANDOFF_WEBHOOK_TIMEOUT": "30",
    }
    with pytest.raises(ConfigurationError) as error:
        load_settings(env, config_path=tmp_path / "none.yml")
    assert "delivery.lease_seconds (20) must be longer than webhook.timeout (30)" in str(
        error.value
    )


def test_a_max_delay_below_the_initial_delay_is_refused(tmp_path: Path) -> None:
    env = {"HANDOFF_DELIVERY_RETRY_INITIAL_DELAY": "60", "HANDOFF_DELIVERY_RETRY_MAX_DELAY": "5"}
    with pytest.raises(ConfigurationError, match="retry_max_delay must be at least"):
        load_settings(env, config_path=tmp_path / "none.yml")


def test_the_slack_api_url_can_point_at_a_local_server(tmp_path: Path) -> None:
    env = {"HANDOFF_SLACK_API_URL": "http://127.0.0.1:8080/api"}
    settings = load_settings(env, config_path=tmp_path / "none.yml")
    assert settings.slack.api_url == "http://127.0.0.1:8080/api/"
