"""The satisfaction question's setting and texts: on by default, an env var turns it off, every
shipped language has five answers, and a wrong number of answers is refused with the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from handoff_plugin.config.settings import load_settings
from handoff_plugin.config.texts import builtin_defaults
from handoff_plugin.errors import ConfigurationError
from handoff_plugin.livechat.csat import RATING, rating_payload


def test_csat_is_on_by_default_and_an_env_var_turns_it_off(tmp_path: Path) -> None:
    assert load_settings({}, config_path=tmp_path / "x.yml").livechat.csat is True
    off = load_settings({"HANDOFF_LIVECHAT_CSAT": "false"}, config_path=tmp_path / "x.yml")
    assert off.livechat.csat is False
    with pytest.raises(ConfigurationError, match=r'livechat.csat = "sometimes"'):
        load_settings({"HANDOFF_LIVECHAT_CSAT": "sometimes"}, config_path=tmp_path / "x.yml")


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_every_shipped_language_asks_with_five_answers(language: str) -> None:
    texts = builtin_defaults(language)
    assert len(texts.csat_labels()) == 5
    assert texts.render("csat_question") and texts.render("csat_thanks")
    if language != "en":
        assert texts.csat_question != builtin_defaults("en").csat_question


def test_answers_other_than_five_are_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "handoff.yml"
    config.write_text("localization:\n  texts:\n    en:\n      csat_ratings: Bad, Good\n")
    with pytest.raises(ConfigurationError, match=r"(?s)csat_ratings = \"Bad, Good\".*five answers"):
        load_settings({}, config_path=config)


def test_only_the_five_button_payloads_are_ratings() -> None:
    assert [RATING.fullmatch(rating_payload(n)) is not None for n in range(1, 6)] == [True] * 5
    for text in ("/handoff_csat_0", "/handoff_csat_6", "/handoff_csat_4 please", "4", "Good"):
        assert RATING.fullmatch(text) is None
