"""The base of every settings section: frozen, strict about unknown keys."""

from __future__ import annotations

from pydantic import BaseModel


class Section(BaseModel):
    class Config:
        extra = "forbid"
        frozen = True
        allow_population_by_field_name = True
        anystr_strip_whitespace = True


class Invalid(ValueError):
    """A model-wide check's refusal naming the key it is about (pydantic keeps it in `ctx`)."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key  # relative to the model that raised it: "recipients", "slack.timeout"
