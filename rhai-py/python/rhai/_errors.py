"""The exceptions the engine raises; the native module creates them with every field set."""

from typing import Any


class RhaiError(Exception):
    """An error reported by the Rhai engine, with its place in the script."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        source: str | None = None,
        line: int | None = None,
        position: int | None = None,
        function: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.source = source
        self.line = line
        self.position = position
        self.function = function

    def __str__(self) -> str:
        place = ":".join(str(part) for part in (self.source, self.line, self.position) if part is not None)
        text = f"{place}: {self.message}" if place else self.message
        return f"{text} (in function '{self.function}')" if self.function else text


class ParseError(RhaiError):
    """The script is not valid Rhai, or it breaks a compile-time limit."""


class EvalError(RhaiError):
    """The script failed while running; `value` is what `throw` threw, if it threw."""

    def __init__(self, message: str, *, value: Any = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.value = value
