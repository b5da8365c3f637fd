"""How a job's or a call's shell body is cleaned before `sh -c` runs it (spec §2.9)."""


def shell_body(body: str) -> str:
    """The body as the shell helper runs it: trimmed, then trailing backslashes, whitespace and one
    trailing `&&` stripped, so a body built by joining lines with `&& \\` still runs."""
    body = body.strip().rstrip("\\").rstrip()
    return body.removesuffix("&&").rstrip()
