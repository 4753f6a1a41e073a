"""The Settings page's API: secrets write-only, invalid input refused with the field and the
reason, changes used from the next escalation on; the test webhook shows the receiver's answer."""

from __future__ import annotations

from typing import Any

import pytest

from handoff_plugin.config.settings import base_layers
from handoff_plugin.escalation.service import EscalationRequest
from handoff_plugin.models import Trigger
from handoff_plugin.store.queries.settings import SettingsQueries
from handoff_plugin.store.saved_settings import StoredSettings
from tests.integration.conftest import free_port
from tests.integration.inbox.conftest import AgentClient, InboxServer


async def save(client: AgentClient, changes: Any) -> tuple[int, Any]:
    return await client.call("PUT", "api/settings", changes)


async def test_secrets_are_never_sent_to_the_browser_only_whether_they_are_set(
    ann: AgentClient,
) -> None:
    status, body = await save(
        ann,
        {
            "webhook": {"url": "https://hooks.example/x", "secret": "s3cr3t-value"},
            "slack": {"bot_token": "xoxb-123-secret", "channel": "#support"},
        },
    )
    assert status == 200
    for answer in (body, (await ann.call("GET", "api/settings"))[1]):
        assert "s3cr3t-value" not in str(answer) and "xoxb-123-secret" not in str(answer)
        assert answer["webhook"]["secret_set"] is True
        assert answer["slack"]["bot_token_set"] is True


async def test_a_saved_secret_is_kept_when_not_sent_and_removed_when_sent_empty(
    inbox: InboxServer, ann: AgentClient
) -> None:
    await save(ann, {"webhook": {"secret": "first-secret"}})
    _, body = await save(ann, {"webhook": {"url": "https://hooks.example/y"}})
    assert body["webhook"]["secret_set"] is True
    assert (await inbox.services.settings.current()).webhook.secret.get_secret_value() == (
        "first-secret"
    )
    _, body = await save(ann, {"webhook": {"secret": ""}})
    assert body["webhook"]["secret_set"] is False


async def test_slack_is_unavailable_with_the_reason_until_a_token_and_channel_are_saved(
    ann: AgentClient,
) -> None:
    _, body = await ann.call("GET", "api/settings")
    assert body["slack"]["available"] is False
    assert "bot token and a channel" in body["slack"]["unavailable_reason"]
    status, answer = await save(ann, {"slack": {"enabled": True}})
    assert status == 400
    assert answer["field"] == "slack.enabled"
    assert "slack.bot_token or slack.channel is empty" in answer["error"]
    _, body = await save(ann, {"slack": {"bot_token": "xoxb-1", "channel": "#support"}})
    assert body["slack"]["available"] is True and body["slack"]["unavailable_reason"] is None
    _, body = await save(ann, {"slack": {"enabled": True}})
    assert body["slack"]["enabled"] is True


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"email": {"recipients": "ops@example.com; sales@"}}, "email.recipients",
         '"sales@" is not an email address. Separate addresses with ";".'),
        ({"email": {"enabled": True}}, "email.recipients", "email.recipients is empty"),
        ({"webhook": {"url": "ftp://x"}}, "webhook.url", "is not an http(s) URL"),
        ({"webhook": {"enabled": True}}, "webhook.url", "webhook.url is empty"),
        ({"escalations": {"enabled": "yes"}}, "escalations.enabled", "must be true or false"),
        ({"database": {"url": "sqlite:///elsewhere.db"}}, None, "cannot be changed from the inbox"),
        ({"email": {"smtp_host": "evil.example"}}, "email.smtp_host", "cannot be changed"),
        ({"localization": {"texts": {"en": {"confirmation": "Thanks {name}"}}}},
         "localization.texts.en.confirmation", "unknown placeholder {name}"),
        ({"localization": {"texts": {"en": {"nonsense": "x"}}}},
         "localization.texts.en.nonsense", "is not a text of the handoff"),
        ({"localization": {"texts": {"en": {"cancelled": " "}}}},
         "localization.texts.en.cancelled", "must not be empty"),
        ({"localization": {"texts": {"Deutsch!": {}}}}, "localization.language",
         "is not a language code"),
        ({"localization": {"default_language": "?"}}, "localization.default_language",
         "is not a language code"),
        ({"business_hours": {"timezone": "Berlin"}}, "business_hours.timezone",
         "'Berlin' is not an IANA timezone like Europe/Berlin or UTC"),
        ({"business_hours": {"windows": "weekdays 9-5"}}, "business_hours.windows",
         'use windows like "mon-fri 09:00-17:00; sat 10:00-14:00"'),
        ({"localization": {"texts": {"de": {"weekdays": "Mo, Di"}}}},
         "localization.texts.de.weekdays", "must name the seven days"),
        ({}, None, "send an object of sections"),
        ([1], None, "send an object of sections"),
    ],
)  # fmt: skip
async def test_invalid_settings_are_refused_with_the_field_and_the_reason(
    inbox: InboxServer, ann: AgentClient, changes: Any, field: str | None, reason: str
) -> None:
    status, body = await save(ann, changes)
    assert status == 400
    assert body["field"] == field
    assert reason in body["error"]
    async with inbox.store.transaction() as tx:
        assert await SettingsQueries(tx).saved_settings() == {}


async def test_business_hours_saved_in_the_page_are_shown_back_and_used(
    inbox: InboxServer, ann: AgentClient
) -> None:
    hours = {"enabled": True, "timezone": "Europe/Berlin", "windows": "mon-fri 08:00-18:00"}
    status, body = await save(ann, {"business_hours": hours})
    assert status == 200
    assert body["business_hours"] == hours
    assert (await ann.call("GET", "api/settings"))[1]["business_hours"] == hours
    saved = (await inbox.services.settings.current()).business_hours.hours()
    assert saved is not None and saved.timezone.key == "Europe/Berlin"


async def test_saved_settings_apply_to_the_next_escalation_in_another_process(
    inbox: InboxServer, ann: AgentClient, database_url: str, second_store: Any
) -> None:
    """The action server reads the saved settings at each escalation: no restart."""
    other_store = await second_store()
    action_server = StoredSettings(other_store, base_layers({"HANDOFF_DATABASE_URL": database_url}))
    await save(
        ann,
        {
            "email": {"enabled": True, "recipients": "a@x.test; b@x.test", "round_robin": True},
            "localization": {
                "texts": {
                    "en": {"expected_response_time": "within the hour"},
                    "de": {"confirmation": "Danke! Wir melden uns {response_time} bei {email}."},
                }
            },
        },
    )
    settings = await action_server.current()
    assert settings.email.recipients == ("a@x.test", "b@x.test")
    assert settings.email.round_robin is True
    english = settings.localization.for_language("en")
    assert english.render(
        "confirmation", email="z@x.test", response_time=english.expected_response_time
    ) == (
        "Thanks! I've passed your request to our team. Someone will reply here or at z@x.test "
        "within the hour."
    )
    assert settings.localization.for_language("de").confirmation.startswith("Danke!")
    await other_store.close()


async def test_disabling_escalations_makes_the_next_request_unavailable(
    inbox: InboxServer, ann: AgentClient
) -> None:
    await save(ann, {"escalations": {"enabled": False}})
    outcome = await inbox.services.escalations.escalate(
        EscalationRequest("zoe", "rest", Trigger.INTENT, "a human please")
    )
    assert outcome.status == "unavailable"
    assert outcome.visitor_reply.startswith("Sorry, talking to a person isn't available")


async def test_texts_show_their_defaults_and_a_reset_text_uses_the_default_again(
    ann: AgentClient,
) -> None:
    _, body = await save(ann, {"localization": {"texts": {"fr": {"cancelled": "Pas de souci."}}}})
    texts = body["localization"]
    french_defaults = texts["language_defaults"]["fr"]
    assert texts["languages"]["fr"]["cancelled"] == "Pas de souci."
    assert texts["languages"]["fr"]["unavailable"] == french_defaults["unavailable"]
    assert french_defaults["cancelled"].startswith("Pas de problème")
    assert texts["defaults"]["cancelled"].startswith("No problem")
    assert texts["placeholders"]["confirmation"] == ["chatbot_name", "email", "response_time"]
    assert set(texts["keys"]) == set(texts["labels"]) == set(texts["defaults"])
    _, body = await save(ann, {"localization": {"texts": {"fr": {"cancelled": None}}}})
    assert body["localization"]["languages"]["fr"]["cancelled"].startswith("Pas de problème")
    assert "fr" in body["localization"]["languages"]  # the language stays


async def test_a_language_without_shipped_texts_defaults_to_english(ann: AgentClient) -> None:
    _, body = await save(ann, {"localization": {"texts": {"it": {"cancelled": "Va bene."}}}})
    texts = body["localization"]
    assert {"en", "de", "fr", "es", "it"} <= set(texts["languages"])
    assert texts["languages"]["it"]["unavailable"] == texts["defaults"]["unavailable"]
    assert texts["language_defaults"]["it"] == texts["defaults"]
    assert texts["languages"]["de"]["cancelled"].startswith("Kein Problem")


async def test_the_test_webhook_shows_the_receivers_answer(
    ann: AgentClient, receiver: dict[str, Any]
) -> None:
    import hashlib
    import hmac
    import json

    await save(ann, {"webhook": {"url": receiver["url"], "secret": "shared-secret"}})
    status, body = await ann.call("POST", "api/settings/webhook/test")
    assert status == 200
    assert body["delivered"] is True
    assert (body["status"], body["reason"], body["answer"]) == (200, "OK", "thanks!")
    assert body["signed"] is True
    headers, raw = receiver["requests"][0]
    expected = "sha256=" + hmac.new(b"shared-secret", raw, hashlib.sha256).hexdigest()
    assert headers["X-Signature-256"] == expected
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(raw)
    assert payload["event"] == "webhook.test"
    assert set(payload) == {
        "event", "title", "text", "chatbot", "visitor", "conversation", "inbox_url", "timestamp"
    }  # fmt: skip


async def test_the_test_webhook_reports_an_error_answer_and_an_unreachable_receiver(
    ann: AgentClient, receiver: dict[str, Any]
) -> None:
    receiver.update(status=500, answer="database down")
    _, body = await ann.call("POST", "api/settings/webhook/test", {"url": receiver["url"]})
    assert (body["delivered"], body["status"], body["answer"]) == (False, 500, "database down")
    dead = f"http://127.0.0.1:{free_port()}/hook"
    _, body = await ann.call("POST", "api/settings/webhook/test", {"url": dead})
    assert body["status"] is None
    assert body["error"].startswith("could not reach the receiver")


@pytest.mark.parametrize(
    ("body", "reason"),
    [({}, "Set the webhook URL first."), ({"url": "not a url"}, "is not an http(s) URL")],
)
async def test_the_test_webhook_needs_a_url(ann: AgentClient, body: Any, reason: str) -> None:
    status, answer = await ann.call("POST", "api/settings/webhook/test", body)
    assert status == 400
    assert answer["field"] == "webhook.url"
    assert reason in answer["error"]
