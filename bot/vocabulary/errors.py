"""The domain's refusals, defined once. They carry no HTTP status and no exit code: each entry
point maps the kind once (gateway/api/errors.py → 4xx JSON, gateway/cli/runner.py → one line on
stderr and exit code 2, the console → the form back with the field marked).

- `Invalid`: what was given cannot be used (400). `FieldError` names the field, and the file
  and line when the input was a file; `FieldErrors` carries every bad line of a file at once.
- `NotFound`: what was named does not exist (404).
- `Conflict`: it exists, but its state forbids this now (409): sending a cancelled broadcast,
  replacing a launched poll, a save over someone else's ("modifié entre-temps").
"""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """A refusal a person can act on; `message` says what to change, in plain words."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return body


class Invalid(DomainError):
    """The input cannot be used as it is."""


class FieldError(Invalid):
    """One field is wrong; `source` and `line` place it in a file (campaign, poll, CSV …)."""

    def __init__(
        self, field: str, message: str, *, source: str | None = None, line: int | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.source = source
        self.line = line

    @property
    def place(self) -> str:
        """`file:line` (or just the file) where the input was a file; empty otherwise."""
        if self.source is None:
            return ""
        return f"{self.source}:{self.line}" if self.line is not None else self.source

    def __str__(self) -> str:
        named = f"{self.field}: {self.message}" if self.field else self.message
        return f"{self.place}: {named}" if self.place else named

    def as_json(self) -> dict[str, object]:
        body = super().as_json()
        if self.source is not None:
            body["file"] = self.source
        if self.line is not None:
            body["line"] = self.line
        return body


class FieldErrors(Invalid):
    """Every bad field or line of one input at once, in the order they were found."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        if not self.errors:
            raise ValueError("FieldErrors needs at least one error")
        first = self.errors[0]
        count = len(self.errors)
        summary = first.message if count == 1 else f"{count} errors; the first: {first}"
        super().__init__(summary, field=first.field)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)

    def as_json(self) -> dict[str, object]:
        body = self.errors[0].as_json()
        body["errors"] = [error.as_json() for error in self.errors]
        return body


class NotFound(DomainError):
    """What was named does not exist (or is not visible to the one asking)."""


class Conflict(DomainError):
    """It exists, but its present state forbids this."""
