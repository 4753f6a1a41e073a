"""The reference bot's agent inbox channel (credentials.yml: `channels.inbox.InboxInput`).

The channel ships in the package; your own bot registers `handoff_plugin.channels.inbox.InboxInput`.
"""

from handoff_plugin.channels.inbox import InboxInput

__all__ = ["InboxInput"]
