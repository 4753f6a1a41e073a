"""Satisfaction (CSAT): after End Live Chat the visitor is asked once "How did we do?" with five
buttons; the rating (1-5) and an optional comment (the next message) are kept with the
conversation, its escalation and the agent.

How the answer reaches the server without the bot's NLU misreading it: each button's payload is
`/handoff_csat_<n>`, and the livechat channel hands every visitor message to `answer()` before
Rasa sees it. A rating payload is taken here (and never reaches the bot, whether or not a
question is open); the message after a rating is the comment, unless it is a payload (`/...`)
or the conversation went live again. The visitor's transcript keeps the rating as the answer's
label ("Good (4/5)") and the comment as written; Rasa's tracker keeps neither.

The visitor is asked once per conversation: one who ignores the question (writes something
else, or leaves) is not asked again, neither then nor after a later live chat, and a click on
the old buttons after writing something else counts for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from handoff_plugin.livechat.service import CHANNEL, LiveChatService
from handoff_plugin.models import AgentRef, ConversationState
from handoff_plugin.store import StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.csat import CsatQueries, Survey

log = structlog.get_logger(__name__)

RATING = re.compile(r"/handoff_csat_([1-5])")
MAX_COMMENT = 2000
MAX_AWAITING = 10_000  # visitors who rated and left: the oldest are forgotten beyond this


def rating_payload(rating: int) -> str:
    return f"/handoff_csat_{rating}"


@dataclass
class Satisfaction:
    livechat: LiveChatService
    # Session key -> survey rated on this process whose comment may come next. Per process: the
    # visitor's socket stays on one replica; on another one the comment goes to the bot.
    awaiting_comment: dict[str, int] = field(default_factory=dict)

    async def ask(self, conversation_id: int, agent: AgentRef) -> bool:
        """Ask the visitor how it went (after End Live Chat); False if not asked: CSAT is off,
        the conversation is not on the widget's channel, or it was asked before."""
        settings = await self.livechat.settings.recent()
        if not settings.livechat.csat:
            return False

        async def record(tx: StoreTransaction) -> bool:
            conversation = await ConversationQueries(tx).conversation(conversation_id)
            if conversation is None or conversation.channel != CHANNEL:
                return False
            q = CsatQueries(tx)
            if await q.was_asked(conversation_id):
                return False
            await q.ask(conversation_id, agent)
            return True

        if not await self.livechat.store.run(record):
            return False
        texts = await self.livechat.texts_for(conversation_id)
        buttons = [
            {"title": label, "payload": rating_payload(n)}
            for n, label in enumerate(texts.csat_labels(), start=1)
        ]
        await self.livechat.tell_visitor(
            conversation_id, texts.render("csat_question"), {"buttons": buttons}
        )
        log.info("handoff.csat.asked", conversation_id=conversation_id, agent_id=agent.id)
        return True

    async def answer(
        self, sender_id: str, text: str, metadata: Mapping[str, Any] | None = None
    ) -> bool:
        """Take a rating, or the comment after one; True if it was one (the bot must not see
        it), False for any other message."""
        found = RATING.fullmatch(text.strip())
        if found is not None:
            await self._rate(sender_id, int(found.group(1)), metadata)
            return True
        survey_id = self.awaiting_comment.pop(sender_id, None)
        if survey_id is None or text.strip().startswith("/"):
            return False
        if await self.livechat.state_of(sender_id) is not ConversationState.BOT:
            return False  # back in live chat: it is for the agent
        await self._comment(sender_id, survey_id, text.strip()[:MAX_COMMENT], metadata)
        return True

    async def _rate(self, sender_id: str, rating: int, metadata: Mapping[str, Any] | None) -> None:
        async def rate(tx: StoreTransaction) -> Survey | None:
            conversation = await ConversationQueries(tx).conversation_by_sender(sender_id)
            if conversation is None:
                return None
            q = CsatQueries(tx)
            survey = await q.open_survey(conversation.id)
            if survey is None or await q.ignored(survey):  # a late click counts for nothing
                return None
            return survey if await q.rate(survey.id, rating) else None

        survey = await self.livechat.store.run(rate)
        if survey is None:  # no question open (a second click, or typed by hand): ignored
            log.info("handoff.csat.ignored_rating", rating=rating)
            return
        texts = await self.livechat.texts_for(survey.conversation_id)
        label = texts.csat_labels()[rating - 1]
        await self.livechat.record_visitor_message(
            sender_id, f"{label} ({rating}/5)", metadata, CHANNEL
        )
        await self.livechat.tell_visitor(survey.conversation_id, texts.render("csat_thanks"))
        self.awaiting_comment[sender_id] = survey.id
        while len(self.awaiting_comment) > MAX_AWAITING:  # dicts keep insertion order
            del self.awaiting_comment[next(iter(self.awaiting_comment))]
        log.info(
            "handoff.csat.rated",
            conversation_id=survey.conversation_id,
            rating=rating,
            agent_id=survey.agent.id if survey.agent else None,
        )

    async def _comment(
        self, sender_id: str, survey_id: int, text: str, metadata: Mapping[str, Any] | None
    ) -> None:
        conversation, _ = await self.livechat.record_visitor_message(
            sender_id, text, metadata, CHANNEL
        )
        kept = await self.livechat.store.run(lambda tx: CsatQueries(tx).comment(survey_id, text))
        if kept:
            texts = await self.livechat.texts_for(conversation.id)
            await self.livechat.tell_visitor(conversation.id, texts.render("csat_comment_thanks"))
            log.info("handoff.csat.commented", conversation_id=conversation.id)
