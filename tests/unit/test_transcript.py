from typing import Any

from handoff_plugin.models import TranscriptLine
from handoff_plugin.rasa_bridge.tracker import request_from_events, transcript_from_events


def user(text: str, intent: str = "greet") -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def bot(text: str | None, **data: Any) -> dict[str, Any]:
    return {"event": "bot", "text": text, "data": data}


def test_the_transcript_keeps_the_last_ten_visitor_and_bot_lines() -> None:
    events = []
    for n in range(8):
        events += [user(f"question {n}"), {"event": "action", "name": "x"}, bot(f"answer {n}")]
    lines = transcript_from_events(events)
    assert len(lines) == 10
    assert lines[0] == TranscriptLine("visitor", "question 3")
    assert lines[-1] == TranscriptLine("bot", "answer 7")


def test_a_clicked_button_shows_its_title_and_empty_lines_are_skipped() -> None:
    events = [
        user("my flux capacitor wobbles", "nlu_fallback"),
        bot("Talk to a person?", buttons=[{"title": "Yes, a person please", "payload": "/affirm"}]),
        bot(None, image="https://x.test/cat.png"),
        user("/affirm", "affirm"),
    ]
    assert transcript_from_events(events) == (
        TranscriptLine("visitor", "my flux capacitor wobbles"),
        TranscriptLine("bot", "Talk to a person?"),
        TranscriptLine("visitor", "Yes, a person please"),
    )


def test_the_escalation_request_carries_the_transcript() -> None:
    events = [user("hello"), bot("Hi!"), user("a human please", "human_handoff")]
    request = request_from_events("s1", events)
    assert [line.text for line in request.transcript] == ["hello", "Hi!", "a human please"]
