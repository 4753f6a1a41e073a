"""Registers rasa-handoff's custom actions with this bot's action server (rasa-sdk finds them
by importing this package)."""

from handoff_plugin.rasa_bridge.actions import (  # noqa: F401
    ActionAskHandoffEmail,
    ActionEscalate,
    ActionHandoffCancelled,
    ActionHandoffDeclined,
    ActionOfferHandoff,
    ValidateHandoffForm,
)
