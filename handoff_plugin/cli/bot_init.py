"""`handoff init`: add rasa-handoff to an existing Rasa 3.x bot, the steps the README documents."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from handoff_plugin.errors import ConfigurationError

FRAGMENT_DIR = Path(__file__).resolve().parent.parent / "bot"
DATA_FILES = ("handoff_nlu.yml", "handoff_rules.yml")
NLU_FILE = "handoff_nlu.yml"  # per language, in bot/data/<language>/; the rules are shared
# The languages whose handoff training data ships (bot/data/<code>/handoff_nlu.yml).
LANGUAGES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish"}
DEFAULT_LANGUAGE = "en"  # Rasa's own default when config.yml names none
SETTINGS_FILE = "handoff.yml"  # read from the working directory the servers start in
ACTIONS_MODULE = '''"""Registers rasa-handoff's custom actions with this bot's action server."""

from handoff_plugin.rasa_bridge.actions import (  # noqa: F401
    ActionAskHandoffEmail,
    ActionEscalate,
    ActionHandoffCancelled,
    ActionHandoffDeclined,
    ActionOfferHandoff,
    ValidateHandoffForm,
)
'''
ACTION_ENDPOINT = "http://localhost:5055/webhook"
ACTION_TOKEN_REFERENCE = "${HANDOFF_ACTIONS_TOKEN}"  # endpoints.yml interpolates env vars
CHANNELS = (
    "handoff_plugin.channels.livechat.LiveChatInput",  # visitors (rasa-webchat, /socket.io)
    "handoff_plugin.channels.inbox.InboxInput",  # agents, at /webhooks/inbox/
)
FALLBACK = {"name": "FallbackClassifier", "threshold": 0.45, "ambiguity_threshold": 0.05}


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(path: Path) -> Any:
    if not path.is_file():
        return CommentedMap()
    data = _yaml().load(path.read_text(encoding="utf-8"))
    if data is None:
        return CommentedMap()
    if not isinstance(data, dict):
        raise ConfigurationError(f"handoff init: {path} must contain a YAML mapping")
    return data


def _dump(data: Any, path: Path) -> None:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    # Rasa interpolates ${VAR} only in plain scalars, and once Rasa is imported its YAML resolver
    # makes ruamel quote such values: write the token reference unquoted whatever was imported.
    text = stream.getvalue()
    for quote in ("'", '"'):
        text = text.replace(f"{quote}{ACTION_TOKEN_REFERENCE}{quote}", ACTION_TOKEN_REFERENCE)
    path.write_text(text, encoding="utf-8")


def _edit_yaml(path: Path, edit: Callable[[Any], list[str]]) -> list[str]:
    """Apply `edit` to the YAML document at `path` (comments kept); write only if it changed."""
    data = _load(path)
    changes = edit(data)
    if changes:
        _dump(data, path)
    return changes


def merge_domain(domain: Any, fragment: Any) -> list[str]:
    """Add the fragment's intents, slots, forms and actions that the domain lacks."""
    added: list[str] = []
    for key in ("intents", "actions"):
        names = domain.setdefault(key, CommentedSeq())
        if names is None:
            names = domain[key] = CommentedSeq()
        present = {next(iter(n)) if isinstance(n, dict) else n for n in names}
        for name in fragment[key]:
            if name not in present:
                names.append(name)
                added.append(f"{key[:-1]} {name}")
    for key in ("slots", "forms"):
        section = domain.get(key)
        if section is None:
            section = domain[key] = CommentedMap()
        for name, value in fragment[key].items():
            if name not in section:
                section[name] = value
                added.append(f"{key[:-1]} {name}")
    return added


def _ensure_fallback(config: Any) -> list[str]:
    changes = []
    pipeline = config.get("pipeline")
    # An empty pipeline means Rasa's default one, which already has a FallbackClassifier.
    if pipeline and not any(c.get("name") == "FallbackClassifier" for c in pipeline):
        pipeline.append(CommentedMap(FALLBACK))
        changes.append("config.yml: FallbackClassifier added to the pipeline")
    policies = config.get("policies")
    if policies and not any(p.get("name") == "RulePolicy" for p in policies):
        policies.append(CommentedMap({"name": "RulePolicy"}))
        changes.append("config.yml: RulePolicy added to the policies")
    return changes


def _ensure_action_endpoint(endpoints: Any) -> list[str]:
    endpoint = endpoints.get("action_endpoint")
    if not endpoint:
        endpoints["action_endpoint"] = CommentedMap(
            {"url": ACTION_ENDPOINT, "token": ACTION_TOKEN_REFERENCE}
        )
        return [f"endpoints.yml: action_endpoint {ACTION_ENDPOINT} with its token"]
    if "token" in endpoint:
        return []
    # The action server refuses calls without it; Rasa fills it in from the environment.
    endpoint["token"] = ACTION_TOKEN_REFERENCE
    return ["endpoints.yml: action_endpoint token ${HANDOFF_ACTIONS_TOKEN}"]


def _default_language(language: str) -> Callable[[Any], list[str]]:
    def edit(settings: Any) -> list[str]:
        localization = settings.get("localization")
        if localization is None:
            localization = settings["localization"] = CommentedMap()
        if not isinstance(localization, dict) or localization.get("default_language"):
            return []  # the bot builder's own choice (a wrong shape is reported at start-up)
        localization["default_language"] = language
        return [f"{SETTINGS_FILE}: localization.default_language {language} (the bot's language)"]

    return edit


def _ensure_channels(credentials: Any) -> list[str]:
    changes = []
    if "socketio" in credentials:
        # Both serve /socket.io; the live-chat channel speaks the same rasa-webchat protocol.
        del credentials["socketio"]
        changes.append("credentials.yml: socketio replaced by the live-chat channel (same path)")
    for channel in CHANNELS:
        if channel not in credentials:
            credentials[channel] = None
            changes.append(f"credentials.yml: channel {channel}")
    return changes


def data_source(name: str, language: str = DEFAULT_LANGUAGE) -> Path:
    """Where the shipped copy of data file `name` for `language` is."""
    if name == NLU_FILE:
        return FRAGMENT_DIR / "data" / language / name
    return FRAGMENT_DIR / "data" / name


def bot_language(bot_dir: Path) -> str:
    """The `language` of the bot's config.yml, refused unless its handoff data ships."""
    config = _load(bot_dir / "config.yml")
    raw = str(config.get("language") or DEFAULT_LANGUAGE).strip()
    language = re.split(r"[-_]", raw)[0].lower()
    if language not in LANGUAGES or not data_source(NLU_FILE, language).is_file():
        supported = ", ".join(LANGUAGES)
        raise ConfigurationError(
            f"handoff init: config.yml says language: {raw}, but rasa-handoff ships handoff "
            f"training data only for {supported}. To add {raw}: copy handoff_plugin/bot/data/en/ "
            f"to handoff_plugin/bot/data/{language}/, translate its examples (as people write "
            "them: typos, formal and informal), add the language to LANGUAGES in "
            "handoff_plugin/cli/bot_init.py and contribute it; nothing was changed"
        )
    return language


def init_bot(bot_dir: Path, echo: Callable[[str], None] = print) -> list[str]:
    """Apply the README's "Add handoff to your own bot" steps to `bot_dir`; idempotent."""
    domain_path = bot_dir / "domain.yml"
    if not domain_path.is_file():
        raise ConfigurationError(
            f"handoff init: no domain.yml in {bot_dir}; run it in your bot's folder "
            "(the one `rasa init` created)"
        )
    language = bot_language(bot_dir)  # before anything is written: a refusal changes nothing
    changes: list[str] = []

    data_dir = bot_dir / "data"
    data_dir.mkdir(exist_ok=True)
    for name in DATA_FILES:
        target = data_dir / name
        if not target.exists():
            if name == NLU_FILE:
                echo(
                    f"handoff init: adding the {LANGUAGES[language]} ({language}) handoff "
                    "training data"
                )
            shutil.copyfile(data_source(name, language), target)
            changes.append(f"data/{name}: copied")

    fragment = _load(FRAGMENT_DIR / "domain.yml")

    def domain_additions(domain: Any) -> list[str]:
        added = merge_domain(domain, fragment)
        return ["domain.yml: added " + ", ".join(added)] if added else []

    for name, edit in (
        ("domain.yml", domain_additions),
        ("config.yml", _ensure_fallback),
        ("endpoints.yml", _ensure_action_endpoint),
        ("credentials.yml", _ensure_channels),
    ):
        changes += _edit_yaml(bot_dir / name, edit)
    if language != DEFAULT_LANGUAGE:
        # The visitor texts fall back to the bot's language, not English, when a visitor's
        # metadata names no language (or one without texts).
        changes += _edit_yaml(bot_dir / SETTINGS_FILE, _default_language(language))

    actions_dir = bot_dir / "actions"
    actions_dir.mkdir(exist_ok=True)
    (actions_dir / "__init__.py").touch()
    actions_module = actions_dir / "handoff.py"
    if not actions_module.exists():
        actions_module.write_text(ACTIONS_MODULE, encoding="utf-8")
        changes.append("actions/handoff.py: registers the handoff actions")

    for change in changes:
        echo(f"handoff init: {change}")
    if not changes:
        echo("handoff init: nothing to do, handoff is already set up here")
    return changes
