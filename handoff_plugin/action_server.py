"""`init_hooks` for rasa-sdk's plugin package (the documented import path).

The implementation lives in `handoff_plugin.rasa_bridge.action_server`."""

from handoff_plugin.rasa_bridge.action_server import ActionServerPlugin, init_hooks

__all__ = ["ActionServerPlugin", "init_hooks"]
