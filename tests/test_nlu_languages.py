"""Handoff detection in a bot's own language: de, fr and es, on a bot made as a user would.

For each language the test copies the project `rasa init` creates, switches its config.yml to
`language: <lang>`, puts rasa init's intents written in that language (plus two FAQ intents of
the bot builder's own, tests/data/bots/<lang>.yml) in data/nlu.yml, runs `handoff init` on it
through the CLI, trains it with `rasa train nlu` once per test session (the three languages'
trainings side by side), and parses tests/data/nlu_holdout_<lang>.yml (never trained on). Run
`pytest -s -m slow tests/test_nlu_languages.py` to see the figures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rasa
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
RASA = Path(sys.executable).with_name("rasa")
LANGUAGES = ("de", "fr", "es")
HANDOFF = "human_handoff"
# Looser than the targets (recall >= 0.95, FPR <= 0.02) so that the test stays stable.
MIN_RECALL = 0.90
MAX_FALSE_POSITIVE_RATE = 0.04

# What `rasa init` writes, switched to the language (the line a bot builder changes). Its
# config.yml leaves the pipeline empty and lists Rasa's default one in comments; the test bots
# use that one uncommented as it is, with a random seed for DIET (so that the figures repeat).
INITIAL_PROJECT = Path(rasa.__file__).resolve().parent / "cli" / "initial_project"
PIPELINE = """pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
    random_seed: 42
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
"""
# The bot builder's own intents next to rasa init's (tests/data/bots/<lang>.yml has both).
OWN_INTENTS = ("faq_opening_hours", "faq_shipping")


@dataclass
class Figures:
    language: str
    missed: list[str]
    false_positives: list[str]
    handoff: int
    others: int

    @property
    def recall(self) -> float:
        return 1 - len(self.missed) / self.handoff

    @property
    def false_positive_rate(self) -> float:
        return len(self.false_positives) / self.others

    def report(self) -> str:
        return "\n".join(
            [
                f"NLU held-out report ({self.language}, tests/data/nlu_holdout_{self.language}.yml)",
                f"  handoff recall:      {self.recall:.3f} "
                f"({self.handoff - len(self.missed)}/{self.handoff}, minimum {MIN_RECALL})",
                f"  false-positive rate: {self.false_positive_rate:.3f} "
                f"({len(self.false_positives)}/{self.others}, maximum {MAX_FALSE_POSITIVE_RATE})",
                *(f"    missed: {text!r}" for text in self.missed),
                *(f"    false positive: {text!r}" for text in self.false_positives),
            ]
        )


def _make_bot(bot: Path, language: str) -> None:
    """A bot as `rasa init` creates it, switched to `language`: its data in that language."""
    shutil.copytree(INITIAL_PROJECT, bot, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    config = (bot / "config.yml").read_text(encoding="utf-8")
    assert "\nlanguage: en\n" in config and "\npipeline:\n" in config
    config = config.replace("\nlanguage: en\n", f"\nlanguage: {language}\n")
    (bot / "config.yml").write_text(
        config.replace("\npipeline:\n", "\n" + PIPELINE, 1), encoding="utf-8"
    )
    domain = (bot / "domain.yml").read_text(encoding="utf-8")
    own = "".join(f"  - {intent}\n" for intent in OWN_INTENTS)
    (bot / "domain.yml").write_text(
        domain.replace("  - bot_challenge\n", "  - bot_challenge\n" + own, 1), encoding="utf-8"
    )
    (bot / "data" / "nlu.yml").write_text(
        (DATA / "bots" / f"{language}.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    init = subprocess.run(
        [sys.executable, "-m", "handoff_plugin.cli", "init"],
        cwd=bot,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert f"({language}) handoff training data" in init.stdout


def _start_training(bot: Path, threads: int) -> subprocess.Popen[bytes]:
    # TensorFlow's thread pools sized so that the trainings running at once share the cores
    # rather than each starting a pool per core (Rasa reads these two variables).
    env = {
        **os.environ,
        "TF_INTRA_OP_PARALLELISM_THREADS": str(threads),
        "TF_INTER_OP_PARALLELISM_THREADS": str(threads),
    }
    with (bot / "train.log").open("wb") as log:
        return subprocess.Popen(
            [str(RASA), "train", "nlu", "--out", str(bot / "models")]
            + ["--fixed-model-name", "nlu", "--quiet"],
            cwd=bot,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each language's bot, made and then trained with `rasa train nlu`, the three at once.

    The trainings are independent processes, each as a bot builder runs it; side by side they took
    6 minutes on two shared cores, one after the other 9.5 (the same CPU time, about 7 minutes)."""
    bots = {language: tmp_path_factory.mktemp(f"bot-{language}") / "bot" for language in LANGUAGES}
    for language, bot in bots.items():
        _make_bot(bot, language)
    threads = max(1, (os.cpu_count() or 1) // len(LANGUAGES))
    trainings = {language: _start_training(bot, threads) for language, bot in bots.items()}
    try:
        for training in trainings.values():
            # Three trainings on two shared cores under load: one alone took over 5 minutes.
            training.wait(timeout=1800)
    finally:
        for training in trainings.values():
            if training.poll() is None:
                training.kill()
                training.wait()
    for language, bot in bots.items():
        log = (bot / "train.log").read_text(encoding="utf-8", errors="replace")
        assert trainings[language].returncode == 0, f"{language}: {log[-6000:]}"
    return {language: next((bot / "models").glob("nlu*.tar.gz")) for language, bot in bots.items()}


@pytest.fixture(scope="session", params=LANGUAGES)
async def figures(request: pytest.FixtureRequest, models: dict[str, Path]) -> Figures:
    language: str = request.param
    agent = Agent.load(str(models[language]))
    holdout = load_data(str(DATA / f"nlu_holdout_{language}.yml"))
    missed, false_positives, handoff, others = [], [], 0, 0
    for message in holdout.intent_examples:
        text, expected = str(message.get("text")), str(message.get("intent"))
        predicted = ((await agent.parse_message(text)).get("intent") or {}).get("name")
        if expected == HANDOFF:
            handoff += 1
            if predicted != HANDOFF:
                missed.append(text)
        else:
            others += 1
            if predicted == HANDOFF:
                false_positives.append(text)
    result = Figures(language, missed, false_positives, handoff, others)
    print("\n" + result.report())
    return result


@pytest.fixture(params=LANGUAGES)
def holdout(request: pytest.FixtureRequest) -> Iterator[list[tuple[str, str]]]:
    data = load_data(str(DATA / f"nlu_holdout_{request.param}.yml"))
    yield [(str(m.get("text")), str(m.get("intent"))) for m in data.intent_examples]


def test_each_holdout_has_both_kinds_of_messages_and_none_is_trained_on(
    holdout: list[tuple[str, str]],
) -> None:
    # Enough to measure the targets: one false positive in 50 others is the 2 % allowed.
    assert sum(intent == HANDOFF for _, intent in holdout) >= 50
    assert sum(intent != HANDOFF for _, intent in holdout) >= 50
    trained = set()
    for language in LANGUAGES:
        for path in (
            ROOT / "handoff_plugin" / "bot" / "data" / language / "handoff_nlu.yml",
            DATA / "bots" / f"{language}.yml",
        ):
            trained |= {str(m.get("text")).lower() for m in load_data(str(path)).intent_examples}
    assert not [text for text, _ in holdout if text.lower() in trained]


def test_handoff_recall_in_the_bots_language(figures: Figures) -> None:
    assert figures.recall >= MIN_RECALL, figures.report()


def test_false_positive_rate_in_the_bots_language(figures: Figures) -> None:
    assert figures.false_positive_rate <= MAX_FALSE_POSITIVE_RATE, figures.report()
