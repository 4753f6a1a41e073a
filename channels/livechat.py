"""The reference bot's visitor live-chat channel (credentials.yml: `channels.livechat.LiveChatInput`).

The channel ships in the package; your own bot registers `handoff_plugin.channels.livechat.LiveChatInput`.
"""

from handoff_plugin.channels.livechat import LiveChatInput

__all__ = ["LiveChatInput"]
