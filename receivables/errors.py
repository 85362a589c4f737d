"""Errors a user sees: one readable paragraph and an exit code, never a traceback.

Exit codes are part of the CLI contract: 2 when the input (extracts, mapping, configuration)
is rejected, 1 for any other failure.
"""

from __future__ import annotations


class ReceivablesError(Exception):
    """A failure the pipeline explains in one paragraph."""

    exit_code = 1


class InputRejected(ReceivablesError):
    """The extracts cannot be used at all; the run stops before any side effect.

    Carries where the problem is (file, row, column, value) so the message can say it and
    tests and run history can record it.
    """

    exit_code = 2

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        self.hint = hint
        super().__init__(self.paragraph())

    def paragraph(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        if self.value is not None:
            where.append(f"value {_shown(self.value)}")
        text = "Input rejected"
        if where:
            text += " (" + ", ".join(where) + ")"
        text += f": {self.problem}"
        if not text.endswith("."):
            text += "."
        if self.hint:
            text += f" {self.hint}"
        if not text.endswith("."):
            text += "."
        return text + " Nothing was written to the warehouse."


class ConfigError(ReceivablesError):
    """A settings, mapping or rules file is invalid."""

    exit_code = 2


def _shown(value: object, limit: int = 60) -> str:
    """The value as a user can read it in one line: control characters made visible."""
    text = repr(str(value))
    return text if len(text) <= limit else text[: limit - 4] + "...'"
