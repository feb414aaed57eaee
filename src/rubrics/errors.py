"""The one hierarchy of errors that rubrics raises.

Core functions raise these; only the CLI prints them and picks an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

SHOWN_CHARS = 60


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as a message shows it: at most ``limit`` characters, with an ellipsis when
    cut (a 2 MB key or id is named, not echoed)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input, located as precisely as we can."""

    path: str
    line: int | None
    column: int | None
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = display_path(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{where}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def display_path(path: str | Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    p = Path(path)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            return str(p)
    return str(p)


def problem(
    path: str | Path,
    message: str,
    line: int | None = None,
    column: int | None = None,
    severity: Severity = Severity.ERROR,
) -> Problem:
    return Problem(str(path), line, column, message, severity)


class RubricsError(Exception):
    """Base class: every error a user can cause is one of these."""

    exit_code = 1


class InvalidInput(RubricsError):
    """One or more inputs are invalid; carries every problem found."""

    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line or 0, p.column or 0))
        self.hint = hint
        """What to do about all of them, when one sentence says it."""
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[InvalidInput], tuple[list[Problem], str | None]]:
        return (InvalidInput, (self.problems, self.hint))  # so it crosses process pools intact


class NotFound(RubricsError):
    """A framework, role, pack or file that was asked for does not exist."""


class WrongUsage(RubricsError):
    """An option whose value cannot be right for what it names (exit 2, as typer's)."""

    exit_code = 2


class Conflict(RubricsError):
    """The operation would overwrite or duplicate something that exists."""


class TemplateError(RubricsError):
    """A template is missing, has a syntax error or uses an undefined variable."""


class UnsafeResource(RubricsError):
    """A template asked to fetch something it must not (network, files elsewhere)."""


class IntegrityError(RubricsError):
    """A stored file or log entry does not match what was recorded."""
