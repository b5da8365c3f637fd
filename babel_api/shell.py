"""Quoting of values that a plugin splices into a shell command.

A protocol plugin builds `run_sh` bodies from node properties a user typed, so the host must turn any such
value into one safe shell word or refuse it. The rule is the original BlockVisor's: the value is wrapped in
double quotes and only a small, known-safe alphabet passes; everything with a meaning to `sh` inside double
quotes (`$`, backquote, backslash, `!`) or that could end the word is refused rather than escaped, so a
mistake shows up as an error instead of a command that does something else.
"""

# Kept as they are inside double quotes: none of them means anything to `sh` there.
_PLAIN_PUNCTUATION = frozenset("/:{},-_. ")


def sanitize_sh_param(param: str) -> str:
    """Return `param` as one double-quoted shell word, or raise ValueError naming the first bad character.

    Letters and digits of any script and the characters `/ : { } , - _ .` and space are kept; `"` becomes
    `\\"` and a newline becomes the two characters `\\n`. A single quote is refused with its own message
    (templates delimit values with it); anything else, tab and carriage return included, is refused as
    shell-unsafe.
    """
    escaped = []
    for char in param:
        if char == "'":
            raise ValueError(f"Very unsafe subsitution >:( {char}")
        if char.isalnum() or char in _PLAIN_PUNCTUATION:
            escaped.append(char)
        elif char == '"':
            escaped.append('\\"')
        elif char == "\n":
            escaped.append("\\n")
        else:
            raise ValueError(f"Shell unsafe character detected: {char}")
    return '"' + "".join(escaped) + '"'
