"""The action server's token check and what `handoff check` says about a missing token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from handoff_plugin.cli import main
from handoff_plugin.rasa_bridge.action_server import token_refusal


def test_a_call_with_the_configured_token_is_allowed() -> None:
    assert token_refusal("s3cret-token", "s3cret-token") is None


@pytest.mark.parametrize(
    ("expected", "provided", "reason"),
    [
        ("s3cret-token", None, "missing_token"),
        ("s3cret-token", "", "missing_token"),
        ("s3cret-token", "s3cret-tokeN", "wrong_token"),
        ("s3cret-token", "s3cret-token ", "wrong_token"),
        ("", "", "no_token_configured"),
        ("", "anything", "no_token_configured"),
    ],
)
def test_calls_without_the_right_token_are_refused(
    expected: str, provided: str | None, reason: str
) -> None:
    assert token_refusal(expected, provided) == reason


def test_handoff_check_warns_when_the_action_token_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("HANDOFF_")]:
        monkeypatch.delenv(name)
    assert main(["check"]) == 0
    assert "actions.token is not set" in capsys.readouterr().err
    monkeypatch.setenv("HANDOFF_ACTIONS_TOKEN", "s3cret-token")
    assert main(["check"]) == 0
    captured = capsys.readouterr()
    assert "configuration is valid" in captured.err  # it ran
    assert "actions.token" not in captured.err
    assert "s3cret-token" not in captured.out + captured.err
