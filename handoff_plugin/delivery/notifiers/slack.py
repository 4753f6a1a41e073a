"""Slack notifications: `chat.postMessage` through a `SlackApi` (slack-sdk's AsyncWebClient)."""

from __future__ import annotations

import re
from typing import Any

from handoff_plugin.config.settings import SlackSettings
from handoff_plugin.delivery.notifiers.base import DeliveryResult, Notification, Outcome
from handoff_plugin.delivery.transports import (
    SlackApi,
    SlackReply,
    TransportError,
    WebClientSlackApi,
)

# Slack errors that retrying cannot fix, with what the bot builder should do.
PERMANENT_ERRORS = {
    "not_in_channel": "invite the bot to the channel: type /invite @<your app> in it",
    "channel_not_found": (
        "check HANDOFF_SLACK_CHANNEL (a channel ID like C0123ABCD, or #name) and, for a private "
        "channel, invite the bot to it"
    ),
    "is_archived": "the channel is archived: unarchive it or set another HANDOFF_SLACK_CHANNEL",
    "invalid_auth": (
        "HANDOFF_SLACK_BOT_TOKEN is not valid: copy the Bot User OAuth Token (xoxb-...) from the "
        "app's OAuth & Permissions page"
    ),
    "not_authed": "set HANDOFF_SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)",
    "account_inactive": (
        "the token belongs to a deleted user or workspace: reinstall the app and update "
        "HANDOFF_SLACK_BOT_TOKEN"
    ),
    "token_revoked": "the token was revoked: reinstall the app and update HANDOFF_SLACK_BOT_TOKEN",
    "token_expired": "the token expired: reinstall the app and update HANDOFF_SLACK_BOT_TOKEN",
    "missing_scope": "add the chat:write scope to the app, reinstall it, and update the token",
    "restricted_action": "the workspace does not let this app post in that channel",
}
TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
_MENTION = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_TEXT_LIMIT = 2900  # Slack allows 3000 characters in a text object


def escape_mrkdwn(value: str, limit: int = _TEXT_LIMIT) -> str:
    """Visitor text made inert: no <!channel>/<@user>/<url|link> markup, no @channel ping."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = _MENTION.sub("@\u200b", escaped)  # a zero-width space breaks the keyword
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


# What the thread's first message shows about who answers (see `state_line`).
WAITING, CLAIMED, LIVE, BACK_TO_BOT = "waiting", "claimed", "live", "bot"
CLAIM_ACTION, END_ACTION, OPEN_ACTION = "handoff_claim", "handoff_end", "handoff_open_in_inbox"


def state_line(state: str, agent_name: str | None = None) -> str:
    """Who answers: "Waiting for an agent", "Claimed by Ann", "Live with Ann", "Back to the bot"."""
    name = escape_mrkdwn(agent_name or "an agent", 200)
    if state == CLAIMED:
        return f"Claimed by {name}"
    if state == LIVE:
        return f"Live with {name}"
    if state == BACK_TO_BOT:
        return "Back to the bot"
    return "Waiting for an agent"


def blocks(
    notification: Notification,
    *,
    two_way: bool = False,
    state: str = WAITING,
    agent_name: str | None = None,
) -> list[dict[str, Any]]:
    """Title, visitor name/email/phone, the message, an "Open in inbox" button; answering from
    Slack (`two_way`) adds who answers now and the Claim and End Live Chat buttons.

    Visitor-supplied values are plain_text objects (never parsed as markup) and escaped."""
    visitor = notification.visitor
    fields = [
        _plain(f"Visitor: {escape_mrkdwn(notification.visitor_name, 1900)}"),
        _plain(f"Email: {escape_mrkdwn(str(visitor.get('email') or '-'), 1900)}"),
        _plain(f"Phone: {escape_mrkdwn(str(visitor.get('phone') or '-'), 1900)}"),
    ]
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "text": _plain("Open in inbox"),
            "url": notification.inbox_url,
            "style": "primary",
            "action_id": OPEN_ACTION,
        }
    ]
    shown: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(escape_mrkdwn(notification.title, 150))},
        {"type": "section", "fields": fields},
        {"type": "section", "text": _plain(escape_mrkdwn(notification.text or "-"))},
    ]
    if two_way:
        value = str(notification.conversation_id)
        shown.append(
            {
                "type": "context",
                "block_id": "handoff_state",
                "elements": [_plain(state_line(state, agent_name))],
            }
        )
        if state != BACK_TO_BOT:
            buttons[:0] = [
                {
                    "type": "button",
                    "text": _plain("Claim"),
                    "action_id": CLAIM_ACTION,
                    "value": value,
                },
                {
                    "type": "button",
                    "text": _plain("End Live Chat"),
                    "action_id": END_ACTION,
                    "value": value,
                    "style": "danger",
                },
            ]
    shown.append({"type": "actions", "block_id": "handoff_actions", "elements": buttons})
    return shown


def fallback_text(notification: Notification) -> str:
    """What notifications and screen readers show."""
    return escape_mrkdwn(
        f'{notification.title}: {notification.visitor_name} wrote "{notification.text}"'
    )


class SlackNotifier:
    kind = "slack"

    def __init__(self, settings: SlackSettings, api: SlackApi | None = None) -> None:
        self.channel = settings.channel
        self.two_way = settings.two_way
        self.api = api or WebClientSlackApi(settings)

    async def send(self, notification: Notification) -> DeliveryResult:
        try:
            reply = await self.api.chat_post_message(
                channel=self.channel,
                text=fallback_text(notification),
                blocks=blocks(notification, two_way=self.two_way),
            )
        except TransportError as error:
            return DeliveryResult.retry(str(error))
        result = classify(reply)
        if result.outcome is Outcome.DELIVERED and reply.ts:
            # The thread of this escalation: where its conversation is mirrored and answered.
            receipt = {"channel": reply.channel or self.channel, "ts": reply.ts}
            return DeliveryResult.delivered(result.response_code, receipt=receipt)
        return result


def classify(reply: SlackReply) -> DeliveryResult:
    """ok delivered; bad token/channel/scope permanent, with what to do; 429/5xx/overload retried
    (honouring Retry-After); any other refusal permanent."""
    status = reply.status
    if reply.ok:
        return DeliveryResult.delivered(status)
    code = reply.error or ""
    said = f"Slack answered HTTP {status}" + (f" {code}" if code else "")
    if code in PERMANENT_ERRORS:
        return DeliveryResult.failed(f"{said}: {PERMANENT_ERRORS[code]}", status)
    if status == 429 or code in TRANSIENT_ERRORS or status >= 500:
        return DeliveryResult.retry(said, status, reply.retry_after)
    return DeliveryResult.failed(said, status)
