"""One root error and a few clear leaves: catch `HandoffError` to catch everything of ours."""

from __future__ import annotations


class HandoffError(Exception):
    """Root of every error raised by rasa-handoff."""


class ConfigurationError(HandoffError):
    """A setting is missing or has a value that is not allowed; the message says which and why.

    `field` is the dotted key (`email.recipients`), `value` what was given (secrets masked) and
    `allowed` what would be accepted, in words, so a form can show the reason next to its input
    without reading the message. With several bad settings they describe the first.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        allowed: str | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.allowed = allowed


class DeliveryError(HandoffError):
    """A notification could not be delivered. `permanent` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class InvalidInput(HandoffError):
    """A request carries a value that cannot be used (empty, too long, wrong type)."""


class Unavailable(HandoffError):
    """Not ready yet (e.g. the Rasa agent is still loading its model); retrying later helps."""


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached (restarting, failing over); nothing was written."""


class NotFound(HandoffError):
    """The conversation, escalation or agent asked for does not exist."""


class PermissionDenied(HandoffError):
    """The caller is not allowed to do this."""


class Conflict(HandoffError):
    """The request clashes with the current state, e.g. another agent handles the conversation.

    `detail` is what a client needs to show why (JSON-ready), e.g. `{"assignee": {...}}`."""

    def __init__(self, message: str, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.detail = detail or {}
