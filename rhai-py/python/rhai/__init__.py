"""Python binding of the Rhai scripting engine: the real Rust crate `rhai`, built with `sync`.

The public names live here; `__init__.pyi` documents them and how values cross.
"""

from rhai._errors import EvalError, ParseError, RhaiError
from rhai._rhai import AST, Engine, FnInfo, FnPtr, Timestamp

__all__ = ["AST", "Engine", "EvalError", "FnInfo", "FnPtr", "ParseError", "RhaiError", "Timestamp"]
