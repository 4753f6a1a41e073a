import string
from pathlib import Path

import pytest

from handoff_plugin.config.builtin_texts import BUILTIN_TEXTS
from handoff_plugin.config.settings import load_settings
from handoff_plugin.config.texts import TEXT_PLACEHOLDERS, Texts, builtin_defaults
from handoff_plugin.errors import ConfigurationError


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = load_settings({}, config_path=tmp_path / "missing.yml")
    assert settings.escalations.enabled is True
    assert settings.database.url.startswith("sqlite+aiosqlite:///")
    assert settings.localization.for_language("en").email_prompt


def test_env_vars_override_the_file_which_overrides_defaults(tmp_path: Path) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("chatbot:\n  name: File Bot\n  id: file-id\nescalations:\n  enabled: true\n")
    env = {"HANDOFF_CHATBOT_NAME": "Env Bot", "HANDOFF_ESCALATIONS_ENABLED": "false"}
    settings = load_settings(env, config_path=config)
    assert settings.chatbot.name == "Env Bot"
    assert settings.chatbot.id == "file-id"
    assert settings.escalations.enabled is False


def test_saved_overrides_win_over_env(tmp_path: Path) -> None:
    settings = load_settings(
        {"HANDOFF_CHATBOT_NAME": "Env Bot"},
        config_path=tmp_path / "none.yml",
        overrides={"chatbot": {"name": "Saved Bot"}},
    )
    assert settings.chatbot.name == "Saved Bot"


def test_recipients_are_split_on_semicolons_and_trimmed(tmp_path: Path) -> None:
    env = {"HANDOFF_EMAIL_RECIPIENTS": " a@x.test ;b@x.test;; c@x.test "}
    settings = load_settings(env, config_path=tmp_path / "none.yml")
    assert settings.email.recipients == ("a@x.test", "b@x.test", "c@x.test")


def test_a_bad_recipient_is_named_with_the_key_and_the_fix(tmp_path: Path) -> None:
    env = {"HANDOFF_EMAIL_RECIPIENTS": "ops@example.com; sales@"}
    with pytest.raises(ConfigurationError) as error:
        load_settings(env, config_path=tmp_path / "none.yml")
    message = str(error.value)
    assert 'email.recipients = "ops@example.com; sales@"' in message
    assert '"sales@" is not an email address' in message


def test_a_bad_boolean_names_key_value_and_allowed(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"HANDOFF_ESCALATIONS_ENABLED": "maybe"}, config_path=tmp_path / "x.yml")
    assert 'escalations.enabled = "maybe"' in str(error.value)
    assert "bool" in str(error.value)


def test_an_unknown_env_var_suggests_the_right_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Did you mean HANDOFF_EMAIL_RECIPIENTS"):
        load_settings({"HANDOFF_EMAIL_RECIPIENT": "a@x.test"}, config_path=tmp_path / "x.yml")


def test_an_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("chatbot:\n  nmae: Bot\n")
    with pytest.raises(ConfigurationError, match=r"chatbot\.nmae.*did you mean chatbot\.name"):
        load_settings({}, config_path=config)


def test_slack_without_token_is_refused_with_the_steps(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="chat:write"):
        load_settings({"HANDOFF_SLACK_ENABLED": "true"}, config_path=tmp_path / "x.yml")


def test_database_url_without_async_driver_is_upgraded(tmp_path: Path) -> None:
    settings = load_settings(
        {"HANDOFF_DATABASE_URL": "postgresql://u:p@localhost/handoff"},
        config_path=tmp_path / "x.yml",
    )
    assert settings.database.url == "postgresql+asyncpg://u:p@localhost/handoff"


def test_an_unsupported_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="database.url"):
        load_settings({"HANDOFF_DATABASE_URL": "mysql://x"}, config_path=tmp_path / "x.yml")


def test_localized_texts_fall_back_to_the_default_language(tmp_path: Path) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text(
        "localization:\n  texts:\n    en: {}\n    de:\n      email_prompt: Wie lautet Ihre E-Mail?\n"
    )
    settings = load_settings({}, config_path=config)
    assert settings.localization.for_language("de").email_prompt == "Wie lautet Ihre E-Mail?"
    assert settings.localization.for_language("de-AT").email_prompt == "Wie lautet Ihre E-Mail?"
    # Configured texts override the shipped German ones key by key.
    assert settings.localization.for_language("de").cancelled.startswith("Kein Problem")
    assert settings.localization.for_language("fr").email_prompt.startswith("Bien sûr")
    assert settings.localization.for_language("pt-BR").email_prompt.startswith("Sure")


def test_a_language_without_texts_falls_back_to_the_bots_default_language(
    tmp_path: Path,
) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("localization:\n  default_language: es\n")
    localization = load_settings({}, config_path=config).localization
    assert localization.for_language("it").email_prompt.startswith("Claro")
    assert localization.for_language(None).email_prompt.startswith("Claro")
    assert localization.for_language("de_AT").email_prompt.startswith("Gern")


def test_every_shipped_language_has_every_text_with_its_placeholders() -> None:
    for language, texts in BUILTIN_TEXTS.items():
        assert set(texts) == set(TEXT_PLACEHOLDERS), language
        for key, text in texts.items():
            assert _placeholders(text) == _placeholders(getattr(Texts(), key)), (language, key)
        assert builtin_defaults(language).render("confirmation", email="a@x.test")


def test_a_text_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("localization:\n  texts:\n    en:\n      confirmation: Hi {name}\n")
    with pytest.raises(ConfigurationError, match=r"unknown placeholder \{name\}.*\{email\}"):
        load_settings({}, config_path=config)


def test_secrets_are_masked_in_the_effective_settings(tmp_path: Path) -> None:
    env = {
        "HANDOFF_WEBHOOK_SECRET": "s3cret",
        "HANDOFF_EMAIL_SMTP_PASSWORD": "pw",
        "HANDOFF_ACTIONS_TOKEN": "act10n-t0ken",
    }
    masked = load_settings(env, config_path=tmp_path / "x.yml").masked()
    assert masked["webhook"]["secret"] == "********"
    assert masked["email"]["smtp_password"] == "********"
    assert masked["actions"]["token"] == "********"
    assert "s3cret" not in repr(masked)
    assert "act10n-t0ken" not in repr(masked)


def test_livechat_origins_are_checked_and_split_on_semicolons(tmp_path: Path) -> None:
    env = {"HANDOFF_LIVECHAT_CORS_ALLOWED_ORIGINS": "https://a.example; http://b.example:8080/"}
    settings = load_settings(env, config_path=tmp_path / "none.yml")
    assert settings.livechat.cors_allowed_origins == ("https://a.example", "http://b.example:8080")
    with pytest.raises(ConfigurationError, match="livechat.cors_allowed_origins"):
        load_settings(
            {"HANDOFF_LIVECHAT_CORS_ALLOWED_ORIGINS": "a.example/path"},
            config_path=tmp_path / "none.yml",
        )


def test_a_short_session_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="at least 16 characters") as error:
        load_settings(
            {"HANDOFF_LIVECHAT_SESSION_SECRET": "short-secret"}, config_path=tmp_path / "n.yml"
        )
    assert "short-secret" not in str(error.value)


def test_a_bad_recipient_error_carries_the_field_value_and_what_is_allowed(tmp_path: Path) -> None:
    env = {"HANDOFF_EMAIL_RECIPIENTS": "ops@example.com; sales@"}
    with pytest.raises(ConfigurationError) as error:
        load_settings(env, config_path=tmp_path / "none.yml")
    assert error.value.field == "email.recipients"
    assert error.value.value == "ops@example.com; sales@"
    assert error.value.allowed == '"sales@" is not an email address. Separate addresses with ";".'


def test_a_typo_in_the_file_carries_the_key_as_written_and_the_allowed_keys(
    tmp_path: Path,
) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("email:\n  recipeints: a@x.test\n")
    with pytest.raises(ConfigurationError) as error:
        load_settings({}, config_path=config)
    assert error.value.field == "email.recipeints"
    assert error.value.allowed is not None and "recipients" in error.value.allowed.split(", ")


def test_a_setting_needed_by_another_is_named_as_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"HANDOFF_WEBHOOK_ENABLED": "true"}, config_path=tmp_path / "x.yml")
    assert error.value.field == "webhook.url"
    assert str(error.value).startswith("handoff: invalid settings: webhook.enabled is true")


def test_a_bad_text_is_named_down_to_its_language_and_key(tmp_path: Path) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("localization:\n  texts:\n    de:\n      confirmation: Hi {name}\n")
    with pytest.raises(ConfigurationError) as error:
        load_settings({}, config_path=config)
    assert error.value.field == "localization.texts.de.confirmation"
    assert error.value.value == "Hi {name}"


def test_a_rejected_secret_is_masked_in_the_error_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(
            {"HANDOFF_LIVECHAT_SESSION_SECRET": "short-secret"}, config_path=tmp_path / "n.yml"
        )
    assert error.value.field == "livechat.session_secret"
    assert error.value.value == "********"


def test_with_several_bad_settings_the_error_names_the_first(tmp_path: Path) -> None:
    env = {"HANDOFF_CHATBOT_NAME": "", "HANDOFF_WEBHOOK_URL": "ftp://x"}
    with pytest.raises(ConfigurationError) as error:
        load_settings(env, config_path=tmp_path / "x.yml")
    assert "chatbot.name" in str(error.value) and "webhook.url" in str(error.value)
    assert error.value.field == "chatbot.name"


def test_redis_is_off_by_default_and_its_url_is_checked(tmp_path: Path) -> None:
    none = tmp_path / "none.yml"
    assert load_settings({}, config_path=none).redis.url == ""
    url = "redis://:pw@10.0.0.5:6379/0"
    assert load_settings({"HANDOFF_REDIS_URL": url}, config_path=none).redis.url == url
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"HANDOFF_REDIS_URL": "http://:hunter2@cache:6379"}, config_path=none)
    assert "redis.url" in str(refused.value) and "redis://host:6379/0" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_the_effective_settings_never_show_a_redis_password(tmp_path: Path) -> None:
    env = {"HANDOFF_REDIS_URL": "redis://:hunter2@cache:6379/0"}
    masked = load_settings(env, config_path=tmp_path / "none.yml").masked()
    assert masked["redis"]["url"] == "redis://:********@cache:6379/0"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
