from pathlib import Path

import pytest
import rasa.shared.utils.io  # noqa: F401  Rasa's ${VAR} YAML resolver, loaded in most processes
import yaml

from handoff_plugin.cli.bot_init import DATA_FILES, FRAGMENT_DIR, LANGUAGES, data_source, init_bot
from handoff_plugin.config.settings import load_settings
from handoff_plugin.config.texts import builtin_defaults
from handoff_plugin.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


def fragment() -> dict:
    return yaml.safe_load((FRAGMENT_DIR / "domain.yml").read_text())


def test_the_reference_bot_carries_everything_handoff_init_adds() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    wanted = fragment()
    assert set(wanted["intents"]) <= set(domain["intents"])
    assert set(wanted["actions"]) <= set(domain["actions"])
    assert domain["slots"]["handoff_email"] == wanted["slots"]["handoff_email"]
    assert domain["forms"] == {**domain["forms"], **wanted["forms"]}
    for name in DATA_FILES:
        source = data_source(name, "en")
        assert (ROOT / "data" / name).read_text() == source.read_text(), (
            f"data/{name} differs from {source.relative_to(ROOT)}: copy one over the other"
        )


def test_init_merges_into_a_domain_and_keeps_what_was_there(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text(
        'version: "3.1"\n# my comment\nintents:\n  - greet\n  - affirm\n'
        'responses:\n  utter_greet:\n  - text: "Hey!"\n'
    )
    (tmp_path / "credentials.yml").write_text(
        "rest:\nsocketio:\n  user_message_evt: user_uttered\n"
    )
    (tmp_path / "config.yml").write_text(
        "pipeline:\n  - name: WhitespaceTokenizer\npolicies:\n  - name: TEDPolicy\n"
    )
    messages: list[str] = []
    init_bot(tmp_path, echo=messages.append)

    domain = yaml.safe_load((tmp_path / "domain.yml").read_text())
    assert domain["intents"] == ["greet", "affirm", "human_handoff", "cancel", "chitchat", "deny"]
    assert domain["responses"]["utter_greet"] == [{"text": "Hey!"}]
    assert "handoff_form" in domain["forms"]
    assert "# my comment" in (tmp_path / "domain.yml").read_text()
    config = yaml.safe_load((tmp_path / "config.yml").read_text())
    assert [c["name"] for c in config["pipeline"]][-1] == "FallbackClassifier"
    assert [p["name"] for p in config["policies"]] == ["TEDPolicy", "RulePolicy"]
    endpoints = yaml.safe_load((tmp_path / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://localhost:5055/webhook"
    assert "ValidateHandoffForm" in (tmp_path / "actions" / "handoff.py").read_text()
    credentials = yaml.safe_load((tmp_path / "credentials.yml").read_text())
    assert list(credentials) == [
        "rest",
        "handoff_plugin.channels.livechat.LiveChatInput",
        "handoff_plugin.channels.inbox.InboxInput",
    ]
    assert all((tmp_path / "data" / name).is_file() for name in DATA_FILES)
    assert any("domain.yml: added" in m for m in messages)
    assert "handoff init: adding the English (en) handoff training data" in messages

    again: list[str] = []
    init_bot(tmp_path, echo=again.append)
    assert again == ["handoff init: nothing to do, handoff is already set up here"]


def test_init_adds_the_action_token_to_an_existing_action_endpoint(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\n')
    (tmp_path / "endpoints.yml").write_text(
        'action_endpoint:\n  url: "http://actions:5055/webhook"\n'
    )
    init_bot(tmp_path, echo=lambda _: None)
    text = (tmp_path / "endpoints.yml").read_text()
    # Unquoted: Rasa interpolates ${...} only in plain YAML values.
    assert "  token: ${HANDOFF_ACTIONS_TOKEN}\n" in text
    assert yaml.safe_load(text)["action_endpoint"]["url"] == "http://actions:5055/webhook"


def test_init_adds_the_training_data_of_the_bots_language(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\n')
    (tmp_path / "config.yml").write_text("recipe: default.v1\nlanguage: de\npipeline:\n")
    messages: list[str] = []
    init_bot(tmp_path, echo=messages.append)
    assert messages[0] == "handoff init: adding the German (de) handoff training data"
    nlu = (tmp_path / "data" / "handoff_nlu.yml").read_text()
    assert nlu == data_source("handoff_nlu.yml", "de").read_text()
    assert "Mitarbeiter" in nlu
    settings = yaml.safe_load((tmp_path / "handoff.yml").read_text())
    assert settings == {"localization": {"default_language": "de"}}
    assert "handoff init: handoff.yml: localization.default_language de (the bot's language)" in (
        messages
    )


def test_after_init_visitors_without_a_language_get_the_bots_language(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\n')
    (tmp_path / "config.yml").write_text("language: es\n")
    init_bot(tmp_path, echo=lambda _: None)
    localization = load_settings({}, tmp_path / "handoff.yml").localization
    spanish = builtin_defaults("es")
    assert localization.for_language(None).email_prompt == spanish.email_prompt
    assert localization.for_language("it").email_prompt == spanish.email_prompt
    assert localization.for_language("fr-CA").email_prompt == builtin_defaults("fr").email_prompt


def test_init_keeps_a_default_language_the_bot_builder_chose(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\n')
    (tmp_path / "config.yml").write_text("language: fr\n")
    own = "chatbot:\n  name: Léa\nlocalization:\n  default_language: en\n"
    (tmp_path / "handoff.yml").write_text(own)
    init_bot(tmp_path, echo=lambda _: None)
    assert (tmp_path / "handoff.yml").read_text() == own


def test_an_english_bot_gets_no_settings_file(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\n')
    (tmp_path / "config.yml").write_text("language: en\n")
    init_bot(tmp_path, echo=lambda _: None)
    assert not (tmp_path / "handoff.yml").exists()


def test_a_language_without_handoff_data_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    domain = 'version: "3.1"\nintents:\n  - greet\n'
    (tmp_path / "domain.yml").write_text(domain)
    (tmp_path / "config.yml").write_text("language: it\n")
    with pytest.raises(
        ConfigurationError, match=r"only for en, de, fr, es.*copy handoff_plugin/bot/data/en/"
    ):
        init_bot(tmp_path, echo=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yml", "domain.yml"]
    assert (tmp_path / "domain.yml").read_text() == domain


def test_every_shipped_language_has_the_same_intents() -> None:
    def intents(language: str) -> list[str]:
        nlu = yaml.safe_load(data_source("handoff_nlu.yml", language).read_text())["nlu"]
        return sorted(block["intent"] for block in nlu)

    assert intents("en") == ["cancel", "chitchat", "human_handoff"]
    for language in LANGUAGES:
        assert intents(language) == intents("en"), language
