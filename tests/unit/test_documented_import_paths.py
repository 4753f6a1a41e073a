"""Import paths that bots and receivers already use keep working after the package's re-layout."""

from __future__ import annotations

import importlib
import types

from rasa_sdk.executor import ActionExecutor

# What `handoff init` wrote into a bot's actions/handoff.py before the re-layout.
OLD_ACTIONS_MODULE = '''
from handoff_plugin.rasa_actions import (  # noqa: F401
    ActionAskHandoffEmail,
    ActionEscalate,
    ActionHandoffCancelled,
    ActionHandoffDeclined,
    ActionOfferHandoff,
    ValidateHandoffForm,
)
'''
HANDOFF_ACTIONS = {
    "action_ask_handoff_email",
    "action_escalate",
    "action_handoff_cancelled",
    "action_handoff_declined",
    "action_offer_handoff",
    "validate_handoff_form",
}


def test_a_bot_initialised_with_the_old_layout_still_registers_every_handoff_action() -> None:
    module = types.ModuleType("old_bot_actions_handoff")
    exec(compile(OLD_ACTIONS_MODULE, "actions/handoff.py", "exec"), module.__dict__)
    assert module.ActionEscalate is importlib.import_module(
        "handoff_plugin.rasa_bridge.actions"
    ).ActionEscalate
    executor = ActionExecutor()
    executor.register_package(module)
    assert HANDOFF_ACTIONS <= set(executor.actions)


def test_documented_channel_paths_name_the_input_channels() -> None:
    for path, name in [
        ("handoff_plugin.channels.livechat", "LiveChatInput"),
        ("handoff_plugin.channels.inbox", "InboxInput"),
        ("channels.livechat", "LiveChatInput"),  # the reference bot's credentials.yml
        ("channels.inbox", "InboxInput"),
    ]:
        channel = getattr(importlib.import_module(path), name)
        assert channel.name() in {"livechat", "inbox"}


def test_receivers_verify_signatures_through_the_documented_module() -> None:
    from handoff_plugin.webhooks import sign, verify

    body = b'{"event": "escalation.created"}'
    assert verify(body, "s3cret", sign(body, "s3cret"))
    assert not verify(body, "s3cret", sign(body + b" ", "s3cret"))


def test_the_action_server_hook_is_importable_where_the_readme_says() -> None:
    from handoff_plugin.action_server import init_hooks
    from rasa_sdk_plugins import init_hooks as registered

    assert registered is init_hooks
