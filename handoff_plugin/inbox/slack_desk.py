"""Agents answering from Slack: a thread reply or a button press becomes what the inbox does.

A reply in an escalation's thread by a Slack user mapped to an agent is sent exactly as the
inbox sends it (`InboxConversations.send`: claims the conversation, starts live chat, the visitor
sees the agent's name); Claim and End Live Chat call the inbox's claim and end. A reply starting
with `slack.note_prefix` becomes an internal note and never reaches the visitor. Someone Slack
knows but the inbox does not gets an ephemeral message saying why nothing happened and what to do.

Which agent a Slack user is: set explicitly (`handoff agent set-slack-user`), else the Slack
profile's email (users.info, scope users:read.email) matched to an agent's, then remembered.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from handoff_plugin.config.settings import SettingsProvider, SlackSettings
from handoff_plugin.delivery.slack_thread import SLACK_ORIGIN
from handoff_plugin.delivery.transports import SlackApi, TransportError, WebClientSlackApi
from handoff_plugin.errors import HandoffError
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.inbox.notes import InboxNotes
from handoff_plugin.inbox.slack_requests import (
    ButtonClick,
    ThreadReply,
    is_note,
    without_prefix,
)
from handoff_plugin.models import Agent
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.agents import AgentQueries
from handoff_plugin.store.queries.slack import SlackQueries, SlackThread

log = structlog.get_logger(__name__)


def not_linked(user: str) -> str:
    return (
        "Not sent: your Slack account is not linked to an agent of the inbox, so the visitor "
        "did not get this. Use the same email address in Slack as in the inbox (the app needs "
        f"the users:read.email scope), or ask an admin to run `handoff agent set-slack-user "
        f"<your inbox email> {user}`."
    )


class SlackDesk:
    def __init__(
        self,
        store: Store,
        settings: SettingsProvider,
        conversations: InboxConversations,
        notes: InboxNotes,
        api: Callable[[SlackSettings], SlackApi] = WebClientSlackApi,
    ) -> None:
        self.store = store
        self.settings = settings
        self.conversations = conversations
        self.notes = notes
        self.api = api

    async def first_time(self, request_id: str) -> bool:
        """False if this Slack request (or a retry of it) was handled before, by any replica."""
        return await self.store.run(lambda tx: SlackQueries(tx).first_time(request_id))

    async def reply(self, reply: ThreadReply) -> None:
        settings = await self.settings.current()
        thread = await self._thread(reply.channel, reply.thread_ts)
        if thread is None:
            log.info("handoff.slack.reply_ignored", reason="not an escalation's thread")
            return
        api = self.api(settings.slack)
        agent = await self.agent_of(reply.user, api)
        note = is_note(reply.text, settings.slack.note_prefix)
        fields = {"conversation_id": thread.conversation_id, "slack_user": reply.user}
        if agent is None:
            log.info("handoff.slack.reply_refused", reason="unlinked user", note=note, **fields)
            await self._tell(api, reply.user, thread, not_linked(reply.user))
            return
        if note:
            text = without_prefix(reply.text, settings.slack.note_prefix)
            if text:
                await self.notes.add(agent, thread.conversation_id, text)
            log.info("handoff.slack.note_kept", agent_id=agent.id, **fields)
            return
        try:
            await self.conversations.send(
                agent, thread.conversation_id, reply.text, via=SLACK_ORIGIN
            )
        except HandoffError as error:  # Conflict (another agent has it), too long, ...
            log.info("handoff.slack.reply_refused", reason=type(error).__name__, **fields)
            await self._tell(api, reply.user, thread, f"Not sent to the visitor: {error}")
            return
        log.info("handoff.slack.reply_sent", agent_id=agent.id, **fields)

    async def click(self, click: ButtonClick) -> None:
        settings = await self.settings.current()
        thread = await self._thread(click.channel, click.message_ts)
        if thread is None:
            log.info("handoff.slack.click_ignored", reason="not an escalation's thread")
            return
        api = self.api(settings.slack)
        agent = await self.agent_of(click.user, api)
        fields = {"conversation_id": thread.conversation_id, "action": click.action}
        if agent is None:
            log.info("handoff.slack.click_refused", reason="unlinked user", **fields)
            await self._tell(api, click.user, thread, not_linked(click.user))
            return
        try:
            if click.action == "claim":
                await self.conversations.claim(agent, thread.conversation_id)
            elif not await self.conversations.end(agent, thread.conversation_id):
                await self._tell(api, click.user, thread, "This chat is not live: nothing to end.")
        except HandoffError as error:
            log.info("handoff.slack.click_refused", reason=type(error).__name__, **fields)
            await self._tell(api, click.user, thread, f"Not done: {error}")
            return
        log.info("handoff.slack.clicked", agent_id=agent.id, **fields)

    async def agent_of(self, user: str, api: SlackApi) -> Agent | None:
        """The agent Slack user `user` answers as, or None."""

        async def mapped(tx: StoreTransaction) -> Agent | None:
            agent_id = await SlackQueries(tx).agent_of(user)
            return await AgentQueries(tx).by_id(agent_id) if agent_id is not None else None

        agent = await self.store.run(mapped, read_only=True)
        if agent is not None:
            return agent
        try:
            info = await api.users_info(user=user)
        except TransportError as error:
            log.warning("handoff.slack.users_info_failed", error=str(error))
            return None
        profile = (info.data.get("user") or {}).get("profile") or {}
        email = profile.get("email") if info.ok else None
        if not email:
            log.info("handoff.slack.no_email", slack_user=user, error=info.error)
            return None

        async def learn(tx: StoreTransaction) -> Agent | None:
            q = SlackQueries(tx)
            agent_id = await q.agent_id_by_email(str(email))
            if agent_id is None:
                return None
            await q.map_user(user, agent_id, explicit=False)
            return await AgentQueries(tx).by_id(agent_id)

        return await self.store.run(learn)

    async def _thread(self, channel: str, ts: str) -> SlackThread | None:
        return await self.store.run(
            lambda tx: SlackQueries(tx).thread_at(channel, ts), read_only=True
        )

    async def _tell(self, api: SlackApi, user: str, thread: SlackThread, text: str) -> None:
        """An ephemeral message only `user` sees, in the thread (best effort: it is logged)."""
        try:
            reply = await api.chat_post_ephemeral(
                channel=thread.channel, user=user, text=text, thread_ts=thread.ts
            )
        except TransportError as error:
            log.warning("handoff.slack.ephemeral_failed", error=str(error))
            return
        if not reply.ok:
            log.warning("handoff.slack.ephemeral_failed", error=reply.error)
