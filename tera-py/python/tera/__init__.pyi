"""Python binding of the Tera template engine (the Rust crate `tera` 1.x, with its default features).

Templates are rendered exactly as Tera renders them, with autoescaping off: they are configuration
files, not HTML. The context is a `dict` with `str` keys whose values cross to Tera's JSON values:

| Python                           | Tera (JSON)                                      |
|----------------------------------|--------------------------------------------------|
| `None`                           | `null`                                           |
| `bool`                           | boolean                                          |
| `int`                            | integer (outside i64 and u64: `OverflowError`)   |
| `float`                          | number (NaN and infinities: `ValueError`)        |
| `str`                            | string                                           |
| `list`, `tuple`                  | array                                            |
| `dict` with `str` keys           | object                                           |

Any other value, or a key that is not a `str`, is a `TypeError` naming where it sits in the context,
e.g. `context['a'][2]: cannot use a set in a Tera context`.
"""

from typing import Any

class TeraError(Exception):
    """A template failed to parse or to render.

    The message is Tera's whole error chain joined with ": ", e.g.
    `Failed to render 'config.toml': Variable `port` not found in context while rendering 'config.toml'`;
    a syntax error carries Tera's own `--> line:column` text and a pointer to the place.
    """

def render(template: str, context: dict[str, Any], *, name: str = "template") -> str:
    """Render the template text `template` with `context`, as Tera does, without autoescaping.

    `name` is the name the template is registered under, which Tera's error messages give; BlockVisor
    uses the destination's file name. The context is converted first; the rendering itself runs with
    the GIL released.

    Raises `TeraError` when the template does not parse or fails to render (an undefined variable, a
    filter given a wrong argument, ...), and `TypeError` (or `OverflowError`, `ValueError`) for a
    context Tera cannot hold.
    """
