"""The exception the engine raises; the native module creates it with Tera's whole error chain."""


class TeraError(Exception):
    """A template failed to parse or to render; the message is Tera's cause chain joined with ": "."""
