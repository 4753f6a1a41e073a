"""SQL storage for rasa-handoff: engine set-up, migrations and typed queries."""

from handoff_plugin.store.engine import Store, StoreTransaction, open_store

__all__ = ["Store", "StoreTransaction", "open_store"]
