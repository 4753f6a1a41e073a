"""Rasa input channels of rasa-handoff: the visitor live chat and the agent inbox."""
