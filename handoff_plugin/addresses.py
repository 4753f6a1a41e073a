"""Finding and validating the email address a visitor types (syntax only, no DNS)."""

from __future__ import annotations

import re
from typing import Any

from email_validator import EmailNotValidError, validate_email

# A token with an @ in it: "my email is ann@example.com, thanks" -> "ann@example.com".
_CANDIDATE = re.compile(r"[^\s<>(),;:\"'\[\]]+@[^\s<>(),;:\"'\[\]]+")


def normalize_email(address: str) -> str | None:
    """The normalized address, or None if its syntax is not valid (`.test` domains allowed)."""
    try:
        return validate_email(address, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        return None


def find_email(value: Any) -> str | None:
    """The normalized email address in `value`, or None if there is no valid one."""
    if not isinstance(value, str) or len(value) > 1000:
        return None
    for candidate in _CANDIDATE.findall(value):
        email = normalize_email(candidate.rstrip(".!?"))
        if email:
            return email
    return None
