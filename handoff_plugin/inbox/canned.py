"""Canned replies: saved answers agents insert by typing `/shortcut` in the composer.

Admins keep them on the Settings page (one per language and shortcut; every change is written to
the settings audit log as `canned_replies.<language>.<shortcut>`); every agent reads them. For a
conversation they come filled in: `{visitor_first_name}` (nothing when unknown) and
`{agent_name}`, each in the visitor's language when a reply exists in it, else in the default
language.
"""

from __future__ import annotations

import re
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError

from handoff_plugin.config.builtin_texts import BUILTIN_TEXTS
from handoff_plugin.config.settings import Settings
from handoff_plugin.errors import InvalidInput, NotFound
from handoff_plugin.inbox.admin import actor, require_admin
from handoff_plugin.inbox.settings_form import SettingsRejected
from handoff_plugin.models import Agent, CannedReply
from handoff_plugin.store import Store, StoreTransaction
from handoff_plugin.store.queries.conversations import ConversationQueries
from handoff_plugin.store.queries.livechat import LiveChatQueries
from handoff_plugin.store.queries.notes import NoteQueries
from handoff_plugin.store.queries.settings import SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings

log = structlog.get_logger(__name__)

PLACEHOLDERS = ("visitor_first_name", "agent_name")
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_TITLE = 200
MAX_TEXT = 2000


@dataclass(frozen=True)
class CannedReplyInput:
    language: str
    shortcut: str
    title: str
    text: str

    def as_audit(self) -> dict[str, str]:
        return {"title": self.title, "text": self.text}


def languages(settings: Settings) -> list[str]:
    """The languages a reply may be written in: those the bot has texts for."""
    localization = settings.localization
    return sorted(
        set(localization.texts) | {"en", localization.default_language} | set(BUILTIN_TEXTS)
    )


def placeholders_in(text: str) -> set[str]:
    """The `{names}` in `text`; `InvalidInput` if its braces do not parse."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        raise SettingsRejected(
            "The text has an unmatched { or }: write placeholders as {agent_name}, "
            "and a brace itself as {{ or }}.",
            "text",
        ) from None


def parse_reply(body: object, settings: Settings) -> CannedReplyInput:
    """A reply from the Settings page, checked; `SettingsRejected` names the field and why."""
    if not isinstance(body, dict):
        raise InvalidInput(
            'send {"language": "en", "shortcut": "...", "title": "...", "text": "..."}'
        )
    allowed = languages(settings)
    language = body.get("language") or settings.localization.default_language
    if not isinstance(language, str) or language not in allowed:
        raise SettingsRejected(
            f"language {language!r} is not one of the bot's languages: {', '.join(allowed)}",
            "language",
        )
    shortcut = body.get("shortcut")
    if not isinstance(shortcut, str) or not SHORTCUT.fullmatch(shortcut.strip()):
        raise SettingsRejected(
            f"shortcut {shortcut!r} must be a short slug: 1 to 32 lowercase letters, digits, "
            "- or _, starting with a letter or digit (agents type it after /)",
            "shortcut",
        )
    title = body.get("title")
    title = title.strip() if isinstance(title, str) else ""
    if not title or len(title) > MAX_TITLE:
        raise SettingsRejected(f"title is required (up to {MAX_TITLE} characters)", "title")
    text = body.get("text")
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise SettingsRejected("text is required: the reply agents insert", "text")
    if len(text) > MAX_TEXT:
        raise SettingsRejected(f"text is longer than {MAX_TEXT} characters", "text")
    unknown = sorted(placeholders_in(text) - set(PLACEHOLDERS))
    if unknown:
        raise SettingsRejected(
            "text uses the unknown placeholder"
            + ("s " if len(unknown) > 1 else " ")
            + ", ".join(f"{{{name}}}" for name in unknown)
            + "; allowed: "
            + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
            "text",
        )
    return CannedReplyInput(language, shortcut.strip(), title, text)


def fill(text: str, visitor_first_name: str | None, agent_name: str) -> str:
    """The reply for this conversation. An unknown first name leaves nothing behind, nor the
    space before it: "Hi {visitor_first_name}, ..." becomes "Hi, ..."."""
    if not visitor_first_name:
        text = re.sub(r"[ \t]*\{visitor_first_name\}", "", text)
    return text.format(visitor_first_name=visitor_first_name or "", agent_name=agent_name)


def pick(replies: list[CannedReply], language: str | None, default: str) -> list[CannedReply]:
    """One reply per shortcut: in `language` (or its base, de-AT -> de) if one exists, else in
    the default language; shortcuts in neither are left out."""
    base = re.split(r"[-_]", language or "")[0]
    order = [c for c in (language, base, default) if c]
    chosen: dict[str, CannedReply] = {}
    for reply in replies:
        if reply.language not in order:
            continue
        held = chosen.get(reply.shortcut)
        if held is None or order.index(reply.language) < order.index(held.language):
            chosen[reply.shortcut] = reply
    return sorted(chosen.values(), key=lambda r: r.shortcut)


class CannedReplies:
    def __init__(self, store: Store, settings: StoredSettings) -> None:
        self.store = store
        self.settings = settings

    async def all(self) -> dict[str, Any]:
        """Every reply, for the Settings page (any agent may read them)."""
        replies = await self.store.run(lambda tx: NoteQueries(tx).canned_replies(), read_only=True)
        settings = await self.settings.current()
        return {
            "replies": [r.as_json() for r in replies],
            "languages": languages(settings),
            "default_language": settings.localization.default_language,
            "placeholders": list(PLACEHOLDERS),
        }

    async def for_conversation(self, agent: Agent, conversation_id: int) -> dict[str, Any]:
        """The replies as `agent` would insert them in this conversation, filled in."""

        async def read(tx: StoreTransaction) -> tuple[list[CannedReply], str | None, str | None]:
            q = ConversationQueries(tx)
            conversation = await q.conversation(conversation_id)
            if conversation is None:
                raise NotFound(f"conversation {conversation_id} does not exist")
            visitor = await q.visitor(conversation.visitor_id) if conversation.visitor_id else None
            language = await LiveChatQueries(tx).visitor_language(conversation_id)
            replies = await NoteQueries(tx).canned_replies()
            return replies, language, visitor.first_name if visitor else None

        replies, language, first_name = await self.store.run(read, read_only=True)
        default = (await self.settings.current()).localization.default_language
        return {
            "language": language or default,
            "replies": [
                {
                    "id": r.id,
                    "shortcut": r.shortcut,
                    "title": r.title,
                    "language": r.language,
                    "text": fill(r.text, first_name, agent.name),
                }
                for r in pick(replies, language, default)
            ],
        }

    async def add(self, me: Agent, body: object) -> CannedReply:
        require_admin(me, "change canned replies")
        reply = parse_reply(body, await self.settings.current())

        async def write(tx: StoreTransaction) -> CannedReply:
            q = NoteQueries(tx)
            await self._unique(q, reply, None)
            saved = await q.add_canned_reply(
                reply.language, reply.shortcut, reply.title, reply.text
            )
            await SettingsQueries(tx).record_change(
                actor(me), _key(saved), None, reply.as_audit(), secret=False
            )
            return saved

        saved = await self._saved(write, reply)
        log.info("handoff.inbox.canned_reply_added", agent_id=me.id, reply_id=saved.id)
        return saved

    async def update(self, me: Agent, reply_id: int, body: object) -> CannedReply:
        require_admin(me, "change canned replies")
        reply = parse_reply(body, await self.settings.current())

        async def write(tx: StoreTransaction) -> CannedReply:
            q = NoteQueries(tx)
            old = await q.canned_reply(reply_id)
            if old is None:
                raise NotFound(f"canned reply {reply_id} does not exist")
            await self._unique(q, reply, reply_id)
            saved = await q.update_canned_reply(
                reply_id, reply.language, reply.shortcut, reply.title, reply.text
            )
            audit = SettingsQueries(tx)
            if _key(old) != _key(saved):  # renamed: the old key is gone, the new one is new
                await audit.record_change(actor(me), _key(old), _audit(old), None, secret=False)
                await audit.record_change(
                    actor(me), _key(saved), None, reply.as_audit(), secret=False
                )
            elif _audit(old) != reply.as_audit():
                await audit.record_change(
                    actor(me), _key(saved), _audit(old), reply.as_audit(), secret=False
                )
            return saved

        saved = await self._saved(write, reply)
        log.info("handoff.inbox.canned_reply_changed", agent_id=me.id, reply_id=reply_id)
        return saved

    async def delete(self, me: Agent, reply_id: int) -> CannedReply:
        require_admin(me, "change canned replies")

        async def write(tx: StoreTransaction) -> CannedReply:
            q = NoteQueries(tx)
            old = await q.canned_reply(reply_id)
            if old is None:
                raise NotFound(f"canned reply {reply_id} does not exist")
            await q.delete_canned_reply(reply_id)
            await SettingsQueries(tx).record_change(
                actor(me), _key(old), _audit(old), None, secret=False
            )
            return old

        old = await self.store.run(write)
        log.info("handoff.inbox.canned_reply_removed", agent_id=me.id, reply_id=reply_id)
        return old

    async def _saved(
        self, write: Callable[[StoreTransaction], Awaitable[CannedReply]], reply: CannedReplyInput
    ) -> CannedReply:
        try:
            return await self.store.run(write)
        except IntegrityError:  # another admin saved the same shortcut at the same moment
            raise SettingsRejected(
                f"shortcut /{reply.shortcut} is already used in {reply.language}: pick another",
                "shortcut",
            ) from None

    @staticmethod
    async def _unique(q: NoteQueries, reply: CannedReplyInput, own_id: int | None) -> None:
        held = await q.canned_reply_by_shortcut(reply.language, reply.shortcut)
        if held is not None and held.id != own_id:
            raise SettingsRejected(
                f"shortcut /{reply.shortcut} is already used in {reply.language} "
                f"(“{held.title}”): pick another, or edit that reply",
                "shortcut",
            )


def _key(reply: CannedReply) -> str:
    return f"canned_replies.{reply.language}.{reply.shortcut}"


def _audit(reply: CannedReply) -> dict[str, str]:
    return {"title": reply.title, "text": reply.text}
