"""How a Python function is offered to scripts: its overloads, read from its signature.

Scripts pass arguments by position, and Rhai picks a function by name and by the types of the
arguments. So each arity the function accepts (parameters with defaults make several) becomes one
overload, and each annotated parameter takes only values of its Rhai type: `def f(name: str)` is not
found for `f(42)`, as with functions registered in Rust. Unannotated parameters, `Any`, `object` and
unions take any value.
"""

import inspect
import types
import typing
from collections.abc import Callable

from rhai._rhai import FnPtr, Timestamp

# The annotation's class (or generic origin: `list[str]` -> `list`) -> the Rhai type it asks for.
RHAI_TYPES: dict[object, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    bytes: "blob",
    list: "array",
    dict: "map",
    FnPtr: "fn_ptr",
    Timestamp: "timestamp",
}
ANY_VALUE = (inspect.Parameter.empty, typing.Any, object)


def overloads(func: Callable[..., object]) -> list[list[str]]:
    """The Rhai parameter types of each overload of `func`, fewest parameters first."""
    params = []
    for param in inspect.signature(func, eval_str=True).parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            raise TypeError(f"cannot register {func!r}: a function taking *args has no fixed arity")
        if param.kind is param.KEYWORD_ONLY and param.default is param.empty:
            raise TypeError(
                f"cannot register {func!r}: scripts pass arguments by position, "
                f"and it requires keyword '{param.name}'"
            )
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            params.append(param)
    rhai_types = [rhai_type(func, param) for param in params]
    required = sum(param.default is param.empty for param in params)
    return [rhai_types[:arity] for arity in range(required, len(params) + 1)]


def rhai_type(func: Callable[..., object], param: inspect.Parameter) -> str:
    annotation = param.annotation
    if annotation in ANY_VALUE or isinstance(annotation, types.UnionType):
        return "any"
    if typing.get_origin(annotation) is typing.Union:
        return "any"
    kind = RHAI_TYPES.get(typing.get_origin(annotation) or annotation)
    if kind is None:
        accepted = ", ".join(getattr(t, "__name__", str(t)) for t in RHAI_TYPES)
        raise TypeError(
            f"cannot register {func!r}: parameter '{param.name}' is annotated {annotation!r}, "
            f"which no Rhai value converts to; use one of {accepted}, or leave it unannotated"
        )
    return kind
