"""rasa-sdk's plugin entry point (the package name is fixed by rasa-sdk).

`rasa run actions` imports this package and calls `init_hooks`; rasa-handoff uses it to run the
notification dispatcher in the action server. See handoff_plugin/action_server.py.
"""

from handoff_plugin.action_server import init_hooks

__all__ = ["init_hooks"]
