"""Real conversations: the trained model in process, the real action server, a real database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from handoff_plugin.store import Store
from handoff_plugin.store.saved_settings import StoredSettings
from handoff_plugin.store.tables import conversations, escalations, visitors
from tests.integration.conftest import Visitor

pytestmark = pytest.mark.slow


def new_visitor(agent: Any, metadata: dict[str, Any] | None = None) -> Visitor:
    return Visitor(agent, f"visitor-{uuid.uuid4().hex[:8]}", metadata)


async def escalations_of(store: Store, sender_id: str) -> list[Any]:
    query = (
        sa.select(escalations, visitors.c.email, visitors.c.first_name, conversations.c.state)
        .join(conversations, conversations.c.id == escalations.c.conversation_id)
        .join(visitors, visitors.c.id == escalations.c.visitor_id)
        .where(conversations.c.sender_id == sender_id)
    )
    async with store.transaction() as tx:
        return list((await tx.conn.execute(query)).all())


async def test_asking_for_a_person_collects_the_email_and_records_one_escalation(
    agent: Any, bot_store: Store
) -> None:
    visitor = new_visitor(agent)
    assert await visitor.texts("hello") != []

    asked = await visitor.texts("I want to talk to a human")
    assert any("What email address" in t for t in asked)

    reasked = await visitor.texts("my email is ann at example")
    assert reasked == [
        '"my email is ann at example" doesn\'t look like an email address. Please check it and '
        'send it again, or say "cancel" to keep chatting with me.'
    ]

    confirmed = await visitor.texts("ann@example.com")
    assert any("passed your request to our team" in t and "ann@example.com" in t for t in confirmed)
    assert any("within one business day" in t for t in confirmed)

    rows = await escalations_of(bot_store, visitor.sender_id)
    assert len(rows) == 1
    assert rows[0].email == "ann@example.com"
    assert rows[0].trigger == "intent"
    assert rows[0].message == "I want to talk to a human"
    assert rows[0].state == "escalated"


async def test_asking_again_while_waiting_does_not_duplicate_the_escalation(
    agent: Any, bot_store: Store
) -> None:
    visitor = new_visitor(agent)
    await visitor.texts("get me a real person")
    await visitor.texts("cy@example.com")
    again = await visitor.texts("can I speak to an agent please")
    assert again == [
        "Our team already has your request and will reply here or at cy@example.com "
        "within one business day."
    ]
    assert len(await escalations_of(bot_store, visitor.sender_id)) == 1


async def test_an_email_from_the_website_is_confirmed_not_asked(
    agent: Any, bot_store: Store
) -> None:
    profile = {"email": "dee@example.com", "first_name": "Dee", "last_name": "Lee"}
    visitor = new_visitor(agent, profile)
    replies = await visitor.texts("connect me with customer service")
    assert not any("What email address" in t for t in replies)
    assert any("dee@example.com" in t and "passed your request" in t for t in replies)
    rows = await escalations_of(bot_store, visitor.sender_id)
    assert [(r.email, r.first_name) for r in rows] == [("dee@example.com", "Dee")]


async def test_the_visitor_can_cancel_instead_of_giving_an_email(
    agent: Any, bot_store: Store
) -> None:
    visitor = new_visitor(agent)
    await visitor.texts("operator please")
    cancelled = await visitor.texts("cancel")
    assert any("won't contact the team" in t for t in cancelled)
    assert await escalations_of(bot_store, visitor.sender_id) == []
    # Back to normal: the bot answers questions again instead of asking for an email.
    answer = await visitor.texts("what are your opening hours?")
    assert any("Monday to Friday" in t for t in answer)


async def test_when_unsure_the_bot_offers_a_person_and_yes_escalates(
    agent: Any, bot_store: Store
) -> None:
    visitor = new_visitor(agent)
    offer = await visitor.say("/nlu_fallback")
    assert any("Would you like to talk to a person" in m.get("text", "") for m in offer)
    buttons = [b for m in offer for b in m.get("buttons", [])]
    assert [b["payload"] for b in buttons] == ["/affirm", "/deny"]

    asked = await visitor.texts("/affirm")
    assert any("What email address" in t for t in asked)
    await visitor.texts("eve@example.com")
    rows = await escalations_of(bot_store, visitor.sender_id)
    assert [(r.trigger, r.email) for r in rows] == [("fallback", "eve@example.com")]


async def test_when_unsure_and_the_visitor_declines_nothing_is_recorded(
    agent: Any, bot_store: Store
) -> None:
    visitor = new_visitor(agent)
    await visitor.say("/nlu_fallback")
    declined = await visitor.texts("/deny")
    assert any("keep going" in t for t in declined)
    assert await escalations_of(bot_store, visitor.sender_id) == []


async def test_a_website_button_payload_escalates(agent: Any, bot_store: Store) -> None:
    visitor = new_visitor(agent, {"email": "fay@example.com"})
    await visitor.texts("/human_handoff")
    rows = await escalations_of(bot_store, visitor.sender_id)
    assert [r.trigger for r in rows] == ["payload"]


async def test_with_escalations_disabled_the_bot_says_so_and_records_nothing(
    agent: Any, bot_store: Store, saved_settings: StoredSettings
) -> None:
    await saved_settings.save({"escalations": {"enabled": False}})
    visitor = new_visitor(agent)
    replies = await visitor.texts("I need to speak with a representative")
    assert any("isn't available right now" in t for t in replies)
    assert not any("What email address" in t for t in replies)
    assert await escalations_of(bot_store, visitor.sender_id) == []


async def test_changed_wording_applies_without_retraining_or_restart(
    agent: Any, saved_settings: StoredSettings
) -> None:
    await saved_settings.save(
        {"localization": {"texts": {"en": {"email_prompt": "Your email, please?"}}}}
    )
    replies = await new_visitor(agent).texts("let me talk to a person")
    assert "Your email, please?" in replies
