"""Convert between attrs classes and plain values: the maps, lists and scalars of Rhai scripts and JSON.

One converter serves every data type of the Babel API, so a plugin author meets the same rules everywhere
(spec §2.11, §3.1):

* exact types: an `int` field takes an int, never a bool or a string; a `str` field never takes an int;
  a `float` field takes a float only;
* a missing key and `None` (Rhai `()`, JSON `null`) both mean "absent": the field's default applies,
  and a field without a default is reported missing;
* unknown keys are ignored at every level;
* fixed-width integers are written as `Annotated` types (`UInt64`, `Int32`, ...) and range-checked;
* a `StrEnum` is its value; a *tagged* class (one that declares `VARIANTS`) is externally tagged:
  a unit variant is a plain string, a variant with data a map with exactly one key.

Every problem is one `ShapeError` whose text names the place, e.g.
`services[1].restart_config.backoff_base_ms: expected an integer, got "1s"`.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from functools import cache
from typing import Annotated, Any, Self

import attrs

#: attrs field metadata: leave the field out of the plain form when it is None. For fields this project
#: adds to the original's shapes, so that files and maps stay exactly the original's when they are unused.
OMIT_IF_NONE = "omit_if_none"


class ShapeError(ValueError):
    """A value does not have the shape its type expects. `path` names the place (`services[1].name`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@attrs.frozen
class IntRange:
    """`Annotated` metadata: the integer must lie within `low..=high`; `name` says what it is."""

    name: str
    low: int
    high: int

    def check(self, value: int) -> str | None:
        if self.low <= value <= self.high:
            return None
        return f"expected {self.name} ({self.low} to {self.high}), got {value}"


@attrs.frozen
class Length:
    """`Annotated` metadata: the value (bytes, list) must have exactly `size` items."""

    size: int

    def check(self, value: bytes) -> str | None:
        if len(value) == self.size:
            return None
        return f"expected exactly {self.size} bytes, got {len(value)}"


UInt16 = Annotated[int, IntRange("an unsigned 16-bit integer", 0, 2**16 - 1)]
UInt32 = Annotated[int, IntRange("an unsigned 32-bit integer", 0, 2**32 - 1)]
UInt64 = Annotated[int, IntRange("an unsigned 64-bit integer", 0, 2**64 - 1)]
Int32 = Annotated[int, IntRange("a signed 32-bit integer", -(2**31), 2**31 - 1)]

_SCALARS: dict[type, str] = {str: "a string", bool: "a boolean", int: "an integer", float: "a float"}


class JsonShape:
    """Base of every data class: `from_json` / `to_json` through this module, the one way to convert."""

    __slots__ = ()

    @classmethod
    def from_json(cls, value: Any) -> Self:
        """Build an instance from plain values (a Rhai map or parsed JSON); raise `ShapeError`."""
        return structure(cls, value)

    def to_json(self) -> Any:
        """The plain-value form: dicts, lists, strings, numbers, booleans and `None`."""
        return unstructure(self)


def valid_variant(instance: Any, attribute: attrs.Attribute, kind: str) -> None:
    """attrs validator for the `kind` of a tagged class: a known tag, with data exactly when it needs data."""
    variants = type(instance).VARIANTS
    if kind not in variants:
        raise ValueError(f"unknown {type(instance).__name__} kind {kind!r}, expected one of {list(variants)}")
    payload = getattr(instance, attrs.fields(type(instance))[1].name)
    if (variants[kind] is None) != (payload is None):
        needs = "no data" if variants[kind] is None else "data"
        raise ValueError(f"{type(instance).__name__} {kind!r} takes {needs}")


def structure(tp: Any, value: Any, path: str = "") -> Any:
    """Convert the plain `value` into an instance of `tp`, checking its shape on the way.

    `tp` may be an attrs class, a `StrEnum`, `str`/`bool`/`int`/`float`/`bytes`, `Any`, `X | None`,
    `list[X]`, `dict[str, X]`, `tuple[X, Y]`, or `Annotated[X, check...]`. `path` prefixes error places.
    """
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *checks = typing.get_args(tp)
        result = structure(base, value, path)
        for check in checks:
            if (problem := check.check(result)) is not None:
                raise ShapeError(path, problem)
        return result
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        return structure(inner, value, path)
    if origin is list:
        (item_type,) = typing.get_args(tp)
        _expect(isinstance(value, list), "a list", value, path)
        return [structure(item_type, item, f"{path}[{index}]") for index, item in enumerate(value)]
    if origin is tuple:
        item_types = typing.get_args(tp)
        _expect(
            isinstance(value, list | tuple) and len(value) == len(item_types),
            f"a list of {len(item_types)} items",
            value,
            path,
        )
        return tuple(
            structure(t, item, f"{path}[{i}]")
            for i, (t, item) in enumerate(zip(item_types, value, strict=True))
        )
    if origin is dict:
        _, item_type = typing.get_args(tp)
        _expect(isinstance(value, dict), "a map", value, path)
        return {
            _key(key, path): structure(item_type, item, f"{path}[{_quote(key)}]")
            for key, item in value.items()
        }
    if tp is Any:
        return value
    if tp in _SCALARS:
        exact = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        _expect(exact, _SCALARS[tp], value, path)
        return value
    if tp is bytes:
        return _structure_bytes(value, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        choices = [member.value for member in tp]
        _expect(value in choices, "one of " + ", ".join(map(_quote, choices)), value, path)
        return tp(value)
    if attrs.has(tp):
        if hasattr(tp, "VARIANTS"):
            return _structure_tagged(tp, value, path)
        return _structure_class(tp, value, path)
    raise TypeError(f"shapes cannot convert to {tp!r}")


def unstructure(obj: Any) -> Any:
    """Convert `obj` (an attrs instance or anything `structure` produces) back into plain values."""
    if isinstance(obj, enum.Enum):
        return obj.value
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    if isinstance(obj, bytes | bytearray):
        return list(obj)
    if attrs.has(type(obj)):
        if hasattr(obj, "VARIANTS"):
            kind_field, payload_field = attrs.fields(type(obj))
            kind, payload = getattr(obj, kind_field.name), getattr(obj, payload_field.name)
            return kind if payload is None else {kind: unstructure(payload)}
        return {
            field.name: unstructure(getattr(obj, field.name))
            for field in attrs.fields(type(obj))
            if not (field.metadata.get(OMIT_IF_NONE) and getattr(obj, field.name) is None)
        }
    if isinstance(obj, list | tuple):
        return [unstructure(item) for item in obj]
    if isinstance(obj, dict):
        return {key: unstructure(item) for key, item in obj.items()}
    raise TypeError(f"shapes cannot convert {type(obj).__name__} to a plain value")


def _structure_class(cls: type, value: Any, path: str) -> Any:
    _expect(isinstance(value, dict), "a map", value, path)
    hints = _field_types(cls)
    kwargs = {}
    for field in attrs.fields(cls):
        item = value.get(field.name)
        if item is None:
            if field.default is attrs.NOTHING:
                raise ShapeError(_join(path, field.name), "missing required field")
            continue
        kwargs[field.alias] = structure(hints[field.name], item, _join(path, field.name))
    return _construct(cls, path, **kwargs)


def _structure_tagged(cls: type, value: Any, path: str) -> Any:
    variants: dict[str, Any] = cls.VARIANTS
    if isinstance(value, str) and value in variants and variants[value] is None:
        return _construct(cls, path, value, None)
    if isinstance(value, dict) and len(value) == 1:
        ((tag, data),) = value.items()
        if variants.get(tag) is not None:
            return _construct(cls, path, tag, structure(variants[tag], data, _join(path, tag)))
    units = [_quote(tag) for tag, data_type in variants.items() if data_type is None]
    tagged = [tag for tag, data_type in variants.items() if data_type is not None]
    expected = " or ".join([*units, *(["a map with one of " + ", ".join(tagged)] if tagged else [])])
    raise ShapeError(path, f"expected {expected}, got {_describe(value)}")


def _structure_bytes(value: Any, path: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    _expect(isinstance(value, list), "a list of bytes", value, path)
    for index, item in enumerate(value):
        byte = isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 255
        _expect(byte, "a byte (0 to 255)", item, f"{path}[{index}]")
    return bytes(value)


def _construct(cls: type, path: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call the class; a ValueError from one of its validators becomes a ShapeError at `path`."""
    try:
        return cls(*args, **kwargs)
    except ValueError as error:
        raise ShapeError(path, str(error)) from None


@cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _expect(ok: bool, expected: str, value: Any, path: str) -> None:
    if not ok:
        raise ShapeError(path, f"expected {expected}, got {_describe(value)}")


def _key(key: Any, path: str) -> str:
    _expect(isinstance(key, str), "string keys", key, path)
    return key


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _quote(text: Any) -> str:
    return json.dumps(text, ensure_ascii=False)


def _describe(value: Any) -> str:
    """How an offending value appears in an error: scalars as JSON, containers by kind."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, str):
        text = _quote(value)
        return text if len(text) <= 60 else text[:56] + '..."'
    if isinstance(value, dict):
        if not value:
            return "an empty map"
        keys = ", ".join(str(key) for key in value)
        return f"a map with key{'s' if len(value) > 1 else ''} {keys}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, bytes | bytearray):
        return f"a blob of {len(value)} bytes"
    return f"a {type(value).__name__}"
