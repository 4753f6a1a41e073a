"""Finding and validating the email address a visitor types (syntax only, no DNS)."""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email

# A token with an @ in it: "my email is ann@example.com, thanks" -> "ann@example.com".
_CANDIDATE = re.compile(r"[^\s<>(),;:\"'\[\]]+@[^\s<>(),;:\"'\[\]]+")


def find_email(value: Any) -> str | None:
    """The normalized email address in `value`, or None if there is no valid one."""
    if not isinstance(value, str) or len(value) > 1000:
        return None
    for candidate in _CANDIDATE.findall(value):
        try:
            return validate_email(candidate.rstrip(".!?"), check_deliverability=False).normalized
        except EmailNotValidError:
            continue
    return None
