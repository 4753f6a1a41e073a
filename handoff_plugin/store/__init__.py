"""SQL storage for rasa-handoff: engine set-up, migrations and typed queries."""

from handoff_plugin.store.engine import Store, open_store

__all__ = ["Store", "open_store"]
