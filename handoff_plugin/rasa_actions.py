"""The handoff actions under the import path that `handoff init` wrote into bots before 0.2
(`actions/handoff.py`), so those bots keep working without re-running it.

The implementation lives in `handoff_plugin.rasa_bridge.actions`."""

from handoff_plugin.rasa_bridge.actions import (
    ActionAskHandoffEmail,
    ActionEscalate,
    ActionHandoffCancelled,
    ActionHandoffDeclined,
    ActionOfferHandoff,
    ValidateHandoffForm,
)

__all__ = [
    "ActionAskHandoffEmail",
    "ActionEscalate",
    "ActionHandoffCancelled",
    "ActionHandoffDeclined",
    "ActionOfferHandoff",
    "ValidateHandoffForm",
]
