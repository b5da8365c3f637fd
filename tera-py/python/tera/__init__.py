"""Python binding of the Tera template engine: the real Rust crate `tera`, with its default features.

The public names live here; `__init__.pyi` documents them and how values cross.
"""

from tera._errors import TeraError
from tera._tera import render

__all__ = ["TeraError", "render"]
