"""Python binding of the Rhai scripting engine (the Rust crate `rhai`, built with `sync`).

Values cross between Python and Rhai as follows:

| Rhai                         | Python                                          |
|------------------------------|-------------------------------------------------|
| `()`                         | `None`                                          |
| `bool`                       | `bool`                                          |
| `i64`                        | `int` (outside i64: `OverflowError`)            |
| `f64`                        | `float`                                         |
| `string`                     | `str`                                           |
| `char`                       | `str` of length 1 (a `str` goes back as string) |
| `array`                      | `list` (a `tuple` goes in as array too)         |
| object map                   | `dict` with `str` keys                          |
| `blob`                       | `bytes` (`bytearray` goes in as blob too)       |
| range `a..b`, `a..=b`        | `range`                                         |
| timestamp                    | `Timestamp`                                     |
| function pointer, closure    | `FnPtr`; any other Python callable goes in as a |
|                              | function pointer that calls it                  |

Any other value is a `TypeError` naming its type.
"""

from collections.abc import Callable
from os import PathLike
from typing import Any, final

class RhaiError(Exception):
    """An error reported by the Rhai engine.

    `str(error)` reads `source:line:position: message (in function 'f')`, leaving out what is unknown.
    """

    message: str
    """What went wrong, as Rhai words it, without the place."""
    kind: str
    """The Rhai error variant's name: `ErrorRuntime`, `ErrorFunctionNotFound`, `MissingToken`, ..."""
    source: str | None
    """The source name of the script where the error happened: a file path or the `name` given to
    `compile`; the imported module's path for an error inside a module."""
    line: int | None
    """1-based line of the error, if Rhai knows it."""
    position: int | None
    """1-based column of the error, if Rhai knows it."""
    function: str | None
    """The innermost script function in which the error happened, if any."""

class ParseError(RhaiError):
    """The script is not valid Rhai, or it breaks a compile-time limit (`max_expr_depth`)."""

class EvalError(RhaiError):
    """The script failed while running: `throw`, a missing function, a limit, a failed callback, ..."""

    value: Any
    """What `throw` threw, converted to Python; `None` for any other kind of error."""

@final
class FnInfo:
    """A function defined by a script."""

    name: str
    params: list[str]

@final
class AST:
    """A compiled script. Immutable; can be evaluated many times and from several threads."""

    @property
    def source(self) -> str | None:
        """The source name: the file path for `compile_file`, the `name` given to `compile`."""
    def functions(self) -> list[FnInfo]:
        """The script functions defined at the top level of this script, sorted by name and arity."""

@final
class FnPtr:
    """A Rhai function pointer or closure, callable from Python.

    It keeps the engine and script it came from alive, and calls the function there: curried and
    captured values included, with the engine's limits, releasing the GIL while Rhai runs. Passed
    back into any script, it still calls the function in its own script.
    """

    @property
    def name(self) -> str:
        """The function's name (an anonymous function's generated name for a closure)."""
    def __call__(self, *args: Any) -> Any: ...

@final
class Timestamp:
    """A Rhai `timestamp()`: a point on the monotonic clock."""

    @property
    def elapsed(self) -> float:
        """Seconds since the timestamp was taken."""

@final
class Engine:
    """A Rhai engine: limits, registered Python functions, and a module folder.

    A limit left `None` is off, but for the two that guard the native stack, which keep Rhai's
    defaults: 64 call levels, and expressions 64 deep (32 inside functions). `max_expr_depth` is
    checked when a script is compiled and raises `ParseError`; the others stop a running script with
    `EvalError` whose `kind` names the limit (`ErrorTooManyOperations`, `ErrorStackOverflow`,
    `ErrorDataTooLarge`). A limit must be positive.

    `import "base" as base;` loads `base.rhai` from `module_dir` and never from outside it; without
    `module_dir`, from the folder of the importing script's file (for `compile_file`). The engine
    loads each module file once and keeps it; an import cycle is an error.

    One engine can run scripts from several threads at once; the GIL is released while a script
    runs and taken back for each call into Python.
    """

    def __init__(
        self,
        *,
        max_operations: int | None = None,
        max_call_levels: int | None = None,
        max_expr_depth: int | None = None,
        max_string_size: int | None = None,
        max_array_size: int | None = None,
        max_map_size: int | None = None,
        strict_variables: bool = False,
        module_dir: str | PathLike[str] | None = None,
    ) -> None: ...
    def register_fn(self, name: str, func: Callable[..., Any]) -> None:
        """Make `func` callable from scripts as `name(a, b)` and as `a.name(b)`.

        The arity comes from the signature: a function with default values is registered once per
        arity it accepts. Annotated parameters take only values of their Rhai type, as functions
        registered in Rust do: `def f(name: str)` is "Function not found: f (i64)" for `f(42)`.
        The annotations that select a type are `bool`, `int`, `float`, `str`, `bytes`, `list`,
        `dict` (generics such as `list[str]` by their origin), `FnPtr` and `Timestamp`;
        unannotated parameters, `Any`, `object` and unions take any value; any other annotation
        is a `TypeError` here. Registering the same name with other parameter types adds an
        overload; with the same types, replaces it.

        An exception raised by `func` is a Rhai runtime error that the script can `catch`, as
        errors of functions registered in Rust are: its value is `str(exception)` (the exception's
        class name when that is empty). Uncaught, it reaches the caller as `EvalError` whose
        `__cause__` is the original exception.
        """
    def on_print(self, func: Callable[[str], Any] | None) -> None:
        """Send what scripts `print` to `func` (`None`: back to standard output)."""
    def on_debug(self, func: Callable[[str, str | None, int | None, int | None], Any] | None) -> None:
        """Send what scripts `debug` to `func(text, source, line, position)` (`None`: standard error)."""
    def compile(self, source: str, *, name: str | None = None) -> AST:
        """Compile a script; `name` becomes its source name in errors and `AST.source`."""
    def compile_file(self, path: str | PathLike[str]) -> AST:
        """Compile a script file; its path is the source name and its folder the import folder
        when the engine has no `module_dir`."""
    def eval(self, source: str) -> Any:
        """Compile and run a script, returning the value of its last statement."""
    def eval_ast(self, ast: AST) -> Any:
        """Run a compiled script, returning the value of its last statement."""
    def run_ast(self, ast: AST) -> None:
        """Run a compiled script for its effects."""
    def call_fn(self, ast: AST, name: str, *args: Any, eval_ast: bool = True) -> Any:
        """Call the script function `name` with `args`.

        With `eval_ast` the script's top level runs first (imports, `const`s, `global::` values),
        as Rhai scripts expect; without it only the function runs.
        """

__all__ = ["AST", "Engine", "EvalError", "FnInfo", "FnPtr", "ParseError", "RhaiError", "Timestamp"]
