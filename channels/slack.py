"""The reference bot's Slack channel (credentials.yml: `channels.slack.SlackInput`): agents answer
visitors from the escalation's Slack thread.

The channel ships in the package; your own bot registers `handoff_plugin.channels.slack.SlackInput`.
"""

from handoff_plugin.channels.slack import SlackInput

__all__ = ["SlackInput"]
