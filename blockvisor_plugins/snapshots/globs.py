"""Exclude patterns of the upload job, with the original's glob semantics (spec §4.1, §8).

Patterns are matched against a path relative to the data folder. As with the Rust `glob` crate's
default options, `*` and `?` also match `/`; `**` must be a whole path component and matches any
number of folders (also none); `[abc]`, `[a-z]` and `[!abc]` are classes. A pattern that cannot be
parsed is an error, not a literal.
"""

import re
from collections.abc import Iterable


class PatternError(ValueError):
    """An exclude pattern that is not a valid glob."""


def _class(pattern: str, start: int) -> tuple[str, int]:
    """The regex of the class opening at `start` (`[`), and the index after it."""
    index = start + 1
    negate = index < len(pattern) and pattern[index] == "!"
    index += negate
    members = []
    # A `]` right after `[` or `[!` is a member, as in the original.
    first = True
    while index < len(pattern) and (pattern[index] != "]" or first):
        char = pattern[index]
        if index + 2 < len(pattern) and pattern[index + 1] == "-" and pattern[index + 2] != "]":
            members.append(f"{re.escape(char)}-{re.escape(pattern[index + 2])}")
            index += 3
        else:
            members.append(re.escape(char))
            index += 1
        first = False
    if index >= len(pattern):
        raise PatternError(f"invalid exclude pattern {pattern!r}: unclosed '[' at {start}")
    return f"[{'^' if negate else ''}{''.join(members)}]", index + 1


def _translate(pattern: str) -> str:
    regex = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            before_ok = index == 0 or pattern[index - 1] == "/"
            after = pattern[index + 2 : index + 3]
            if not before_ok or after not in ("", "/"):
                raise PatternError(
                    f"invalid exclude pattern {pattern!r}: '**' must be a whole path component"
                )
            if after == "/":
                regex.append("(?:.*/)?")
                index += 3
            else:
                regex.append(".*")
                index += 2
        elif char == "*":
            regex.append(".*")
            index += 1
        elif char == "?":
            regex.append(".")
            index += 1
        elif char == "[":
            part, index = _class(pattern, index)
            regex.append(part)
        else:
            regex.append(re.escape(char))
            index += 1
    return "".join(regex)


class Exclude:
    """A set of exclude patterns; `matches(path)` says whether a relative path is excluded."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = list(patterns)
        self._regex = (
            re.compile("|".join(f"(?:{_translate(p)})" for p in self.patterns), re.DOTALL)
            if self.patterns
            else None
        )

    def matches(self, path: str) -> bool:
        return self._regex is not None and self._regex.fullmatch(path) is not None
