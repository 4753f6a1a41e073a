"""The agent's typing, reported by the inbox page (or a script): `POST conversations/{id}/typing`.

Only for a conversation that exists and that the caller may answer (nobody else handles it), the
rule every answering endpoint follows; the visitor's widget then shows "Ann is typing…" (with
the adapter script; a plain rasa-webchat ignores the event). See `livechat/typing.py`.
"""

from __future__ import annotations

from handoff_plugin.errors import NotFound
from handoff_plugin.inbox.conversations import InboxConversations
from handoff_plugin.livechat.typing import parse_typing, publish_agent_typing
from handoff_plugin.models import Agent
from handoff_plugin.store.queries.conversations import ConversationQueries


async def report_agent_typing(
    conversations: InboxConversations, agent: Agent, conversation_id: int, body: object
) -> bool:
    """Pass the agent's `{"typing": true|false}` on to the visitor; returns the flag."""
    typing = parse_typing(body)
    conversation = await conversations.store.run(
        lambda tx: ConversationQueries(tx).conversation(conversation_id), read_only=True
    )
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    await conversations.assignments.may_answer(agent, conversation_id)  # 409: someone else's
    await publish_agent_typing(conversations.livechat.broker, conversation, agent.ref, typing)
    return typing
