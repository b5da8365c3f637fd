"""Conversions of values between Python and Rhai, both ways."""

import time

import pytest
import rhai

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)


@pytest.fixture(scope="module")
def engine():
    return rhai.Engine()


@pytest.fixture(scope="module")
def ast(engine):
    return engine.compile(
        """
        fn id(x) { x }
        fn ty(x) { type_of(x) }
        fn diff(a, b) { a - b }
        fn age(t) { t.elapsed }
        fn total(r) { let s = 0; for i in r { s += i; } s }
        """
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("()", None),
        ("true", True),
        ("false", False),
        ("42", 42),
        ("-7", -7),
        ("9223372036854775807", I64_MAX),
        ("-9223372036854775807 - 1", I64_MIN),
        ("1.5", 1.5),
        ("2.0", 2.0),
        ("-0.25e3", -250.0),
        ('"héllo ✓"', "héllo ✓"),
        ('""', ""),
        ("'c'", "c"),
        ("'✓'", "✓"),
        ("[]", []),
        ('[1, 2.5, "x", (), true]', [1, 2.5, "x", None, True]),
        ("[[1, [2]], #{k: [3]}]", [[1, [2]], {"k": [3]}]),
        ("#{}", {}),
        ('#{a: 1, "b c": [true], d: #{e: ()}}', {"a": 1, "b c": [True], "d": {"e": None}}),
        ("blob()", b""),
        ("blob(3, 0)", b"\x00\x00\x00"),
        ("let b = blob(2, 0); b[0] = 1; b[1] = 255; b", b"\x01\xff"),
        ("1..5", range(1, 5)),
        ("1..=5", range(1, 6)),
        ("-3..0", range(-3, 0)),
    ],
)
def test_rhai_to_python(engine, script, expected):
    result = engine.eval(script)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "rhai_type"),
    [
        (None, "()"),
        (True, "bool"),
        (False, "bool"),
        (0, "i64"),
        (-5, "i64"),
        (I64_MAX, "i64"),
        (I64_MIN, "i64"),
        (1.0, "f64"),
        (-2.5, "f64"),
        ("hello", "string"),
        ("c", "string"),
        ("", "string"),
        ([1, "a"], "array"),
        ((1, 2), "array"),
        ({"a": 1}, "map"),
        (b"ab", "blob"),
        (bytearray(b"ab"), "blob"),
        (range(1, 5), "range"),
    ],
)
def test_python_to_rhai_type(engine, ast, value, rhai_type):
    assert engine.call_fn(ast, "ty", value) == rhai_type


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        (7, 7),
        (I64_MAX, I64_MAX),
        (I64_MIN, I64_MIN),
        (1.5, 1.5),
        (1e300, 1e300),
        (float("inf"), float("inf")),
        ("héllo ✓", "héllo ✓"),
        ([1, [2, "x"], None, 2.5], [1, [2, "x"], None, 2.5]),
        ((1, (2, 3)), [1, [2, 3]]),
        ({"a": {"b": [1, None]}, "c d": True}, {"a": {"b": [1, None]}, "c d": True}),
        (b"\x00\xff", b"\x00\xff"),
        (bytearray(b"ab"), b"ab"),
        (range(2, 7), range(2, 7)),
    ],
)
def test_round_trip(engine, ast, value, expected):
    result = engine.call_fn(ast, "id", value)
    assert result == expected
    assert type(result) is type(expected)


def test_nested_values_keep_their_types(engine, ast):
    result = engine.call_fn(ast, "id", {"i": 1, "f": 1.0, "b": True, "l": [False, 0]})
    assert [type(result[k]) for k in ("i", "f", "b")] == [int, float, bool]
    assert [type(x) for x in result["l"]] == [bool, int]


def test_range_goes_in_as_iterable_range(engine, ast):
    assert engine.call_fn(ast, "total", range(1, 5)) == 10


@pytest.mark.parametrize("value", [2**63, I64_MIN - 1, 10**30, [1, 2**64], {"k": -(2**70)}])
def test_int_outside_i64_is_overflow_error(engine, ast, value):
    with pytest.raises(OverflowError):
        engine.call_fn(ast, "id", value)


def test_int_outside_i64_returned_by_registered_function():
    engine = rhai.Engine()
    engine.register_fn("big", lambda: 2**63)
    with pytest.raises((OverflowError, rhai.EvalError)) as info:
        engine.eval("big()")
    err = info.value
    assert isinstance(err, OverflowError) or isinstance(err.__cause__, OverflowError)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ({1, 2}, "set"),
        (object(), "object"),
        (1j, "complex"),
        ([1, {2}], "set"),
        ({"k": object()}, "object"),
    ],
)
def test_unsupported_value_is_type_error(engine, ast, value, type_name):
    with pytest.raises(TypeError, match=type_name):
        engine.call_fn(ast, "id", value)


@pytest.mark.parametrize("value", [{1: "a"}, {("a",): 1}, {"ok": {2: 3}}])
def test_map_with_non_str_key_is_type_error(engine, ast, value):
    with pytest.raises(TypeError):
        engine.call_fn(ast, "id", value)


def test_unsupported_value_returned_by_registered_function():
    engine = rhai.Engine()
    engine.register_fn("bad", lambda: {1, 2})
    with pytest.raises((TypeError, rhai.EvalError)) as info:
        engine.eval("bad()")
    err = info.value
    assert isinstance(err, TypeError) or isinstance(err.__cause__, TypeError)


def test_timestamp_comes_out_as_timestamp(engine):
    ts = engine.eval("timestamp()")
    assert isinstance(ts, rhai.Timestamp)
    first = ts.elapsed
    assert isinstance(first, float)
    assert first >= 0.0
    time.sleep(0.02)
    assert ts.elapsed >= first + 0.015


def test_timestamp_goes_back_in_as_the_same_timestamp(engine, ast):
    ts = engine.eval("timestamp()")
    assert engine.call_fn(ast, "ty", ts) == "timestamp"
    assert engine.call_fn(ast, "diff", ts, ts) == 0.0
    time.sleep(0.03)
    assert engine.call_fn(ast, "age", ts) >= 0.025
    later = engine.eval("timestamp()")
    assert engine.call_fn(ast, "diff", later, ts) >= 0.025


def test_python_callable_goes_in_as_fn_ptr(engine, ast):
    assert engine.call_fn(ast, "ty", lambda x: x) == "Fn"
