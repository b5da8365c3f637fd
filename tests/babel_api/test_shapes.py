"""The converter between attrs classes and plain values: exact types, absent values, paths in errors."""

import enum
from typing import Annotated, Any, ClassVar

import attrs
import pytest

from babel_api.shapes import (
    Int32,
    JsonShape,
    Length,
    ShapeError,
    UInt16,
    UInt32,
    UInt64,
    structure,
    unstructure,
    valid_variant,
)


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


@attrs.frozen
class Inner(JsonShape):
    count: int
    ratio: float | None = None


@attrs.frozen
class Tagged(JsonShape):
    VARIANTS: ClassVar = {"off": None, "idle": None, "on": Inner, "text": str}

    kind: str = attrs.field(validator=valid_variant)
    data: Inner | str | None = None


def _positive(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if value <= 0:
        raise ValueError("size must be positive")


@attrs.frozen(kw_only=True)
class Outer(JsonShape):
    name: str
    flag: bool = False
    items: list[Inner] = attrs.field(factory=list)
    by_name: dict[str, Inner] | None = None
    pair: tuple[str, int] | None = None
    colour: Colour | None = None
    mode: Tagged | None = None
    raw: Any = None
    blob: Annotated[bytes, Length(3)] | None = None
    size: int = attrs.field(default=1, validator=_positive)


def error_of(tp: Any, value: Any) -> ShapeError:
    with pytest.raises(ShapeError) as info:
        structure(tp, value)
    return info.value


@pytest.mark.parametrize(
    ("tp", "value", "message"),
    [
        (int, True, "expected an integer, got true"),
        (int, "1s", 'expected an integer, got "1s"'),
        (int, 1.0, "expected an integer, got 1.0"),
        (str, 5, "expected a string, got 5"),
        (str, None, "expected a string, got null"),
        (bool, 1, "expected a boolean, got 1"),
        (float, 5, "expected a float, got 5"),
        (list[int], {"a": 1}, "expected a list, got a map with key a"),
        (dict[str, int], [1, 2], "expected a map, got a list of 2 items"),
        (Inner, "x", 'expected a map, got "x"'),
        (Colour, "blue", 'expected one of "red", "green", got "blue"'),
        (Colour, 1, 'expected one of "red", "green", got 1'),
        (bytes, "abc", 'expected a list of bytes, got "abc"'),
        (tuple[str, int], ["a"], "expected a list of 2 items, got a list of 1 items"),
    ],
)
def test_exact_types_are_required(tp, value, message):
    error = error_of(tp, value)
    assert str(error) == message
    assert error.path == ""
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("tp", "value"),
    [(int, 7), (int, -7), (str, "x"), (bool, False), (float, 1.5), (Any, {"any": [1]}), (Colour, "red")],
)
def test_scalars_pass_through(tp, value):
    assert structure(tp, value) == value


@pytest.mark.parametrize(
    ("tp", "value", "message"),
    [
        (UInt16, 65536, "expected an unsigned 16-bit integer (0 to 65535), got 65536"),
        (UInt32, -1, "expected an unsigned 32-bit integer (0 to 4294967295), got -1"),
        (UInt64, 2**64, f"expected an unsigned 64-bit integer (0 to {2**64 - 1}), got {2**64}"),
        (Int32, 2**31, "expected a signed 32-bit integer (-2147483648 to 2147483647), got 2147483648"),
        (UInt64, True, "expected an integer, got true"),
    ],
)
def test_fixed_width_integers_are_range_checked(tp, value, message):
    assert str(error_of(tp, value)) == message


@pytest.mark.parametrize(
    ("tp", "value"), [(UInt16, 65535), (UInt64, 0), (UInt64, 2**64 - 1), (Int32, -(2**31))]
)
def test_fixed_width_integers_accept_their_range(tp, value):
    assert structure(tp, value) == value


def test_missing_and_none_mean_absent():
    assert structure(Outer, {"name": "n"}) == Outer(name="n")
    assert structure(Outer, {"name": "n", "flag": None, "items": None, "colour": None}) == Outer(name="n")
    assert structure(int | None, None) is None
    assert str(error_of(Outer, {})) == "name: missing required field"
    assert str(error_of(Outer, {"name": None})) == "name: missing required field"


def test_unknown_keys_are_ignored_at_every_level():
    value = {
        "name": "n",
        "extra": 1,
        "items": [{"count": 1, "other": "x"}],
        "mode": {"on": {"count": 2, "z": 0}},
    }
    assert structure(Outer, value) == Outer(name="n", items=[Inner(1)], mode=Tagged("on", Inner(2)))


def test_errors_name_the_path():
    assert str(error_of(Outer, {"name": "n", "items": [{"count": 1}, {"count": "1s"}]})) == (
        'items[1].count: expected an integer, got "1s"'
    )
    error = error_of(Outer, {"name": "n", "by_name": {"a b": {"count": 1, "ratio": 1}}})
    assert str(error) == 'by_name["a b"].ratio: expected a float, got 1'
    assert error.path == 'by_name["a b"].ratio'
    assert error.message == "expected a float, got 1"
    assert str(error_of(Outer, {"name": "n", "pair": ["a", "b"]})) == 'pair[1]: expected an integer, got "b"'
    assert str(error_of(Outer, {"name": "n", "mode": {"on": {}}})) == "mode.on.count: missing required field"
    assert str(error_of(Outer, {"name": "n", "by_name": {1: {"count": 1}}})) == (
        "by_name: expected string keys, got 1"
    )


def test_tagged_variants():
    assert structure(Tagged, "off") == Tagged("off")
    assert structure(Tagged, {"on": {"count": 3}}) == Tagged("on", Inner(3))
    assert structure(Tagged, {"text": "hi"}) == Tagged("text", "hi")
    expected = 'expected "off" or "idle" or a map with one of on, text, got '
    assert str(error_of(Tagged, "sometimes")) == expected + '"sometimes"'
    assert str(error_of(Tagged, "on")) == expected + '"on"'
    assert str(error_of(Tagged, {"off": None})) == expected + "a map with key off"
    assert str(error_of(Tagged, {"on": {"count": 1}, "text": "x"})) == expected + "a map with keys on, text"
    assert str(error_of(Tagged, {})) == expected + "an empty map"
    assert str(error_of(Tagged, 3)) == expected + "3"


def test_tagged_classes_check_their_kind_when_built_directly():
    with pytest.raises(ValueError, match="unknown Tagged kind 'of'"):
        Tagged("of")
    with pytest.raises(ValueError, match="'on' takes data"):
        Tagged("on")
    with pytest.raises(ValueError, match="'off' takes no data"):
        Tagged("off", "x")


def test_bytes_from_lists_or_blobs_with_exact_length():
    assert structure(Outer, {"name": "n", "blob": [1, 2, 255]}).blob == b"\x01\x02\xff"
    assert structure(Outer, {"name": "n", "blob": b"abc"}).blob == b"abc"
    assert str(error_of(Outer, {"name": "n", "blob": [1, 2]})) == "blob: expected exactly 3 bytes, got 2"
    assert str(error_of(Outer, {"name": "n", "blob": [1, 256, 3]})) == (
        "blob[1]: expected a byte (0 to 255), got 256"
    )
    assert str(error_of(Outer, {"name": "n", "blob": [1, True, 3]})) == (
        "blob[1]: expected a byte (0 to 255), got true"
    )


def test_validator_failures_become_shape_errors_at_the_object():
    error = error_of(Outer, {"name": "n", "size": 0})
    assert str(error) == "size must be positive"
    error = error_of(list[Outer], [{"name": "n", "size": -1}])
    assert str(error) == "[0]: size must be positive"


def test_long_strings_are_shortened_in_errors():
    message = str(error_of(int, "x" * 200))
    assert message == 'expected an integer, got "' + "x" * 55 + '..."'


def test_unstructure_gives_plain_values():
    obj = Outer(
        name="n",
        items=[Inner(1, 0.5)],
        by_name={"k": Inner(2)},
        pair=("a", 1),
        colour=Colour.GREEN,
        mode=Tagged("off"),
        raw={"x": [1, None]},
        blob=b"\x00\x01\x02",
    )
    plain = {
        "name": "n",
        "flag": False,
        "items": [{"count": 1, "ratio": 0.5}],
        "by_name": {"k": {"count": 2, "ratio": None}},
        "pair": ["a", 1],
        "colour": "green",
        "mode": "off",
        "raw": {"x": [1, None]},
        "blob": [0, 1, 2],
        "size": 1,
    }
    assert obj.to_json() == plain
    assert type(obj.to_json()["colour"]) is str
    assert Outer.from_json(plain) == obj
    assert unstructure(Tagged("on", Inner(1))) == {"on": {"count": 1, "ratio": None}}


def test_unsupported_types_are_programming_errors():
    with pytest.raises(TypeError):
        structure(set[int], [1])
    with pytest.raises(TypeError):
        unstructure({1, 2})
