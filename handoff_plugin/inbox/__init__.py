"""The agent inbox: agents and their sessions, conversation queries, live events, settings, and
the HTTP API the inbox page uses. `channels/inbox.py` adapts it to a Rasa input channel."""
