"""The parsing helpers (spec §2.5, §2.2), called from Python and from Rhai scripts.

Deliberate differences from the original (spec §12 and the project's design): the date helpers return int
Unix seconds and fail with a catchable runtime error, `parse_rfc2822` is callable under its name, and each
helper accepts what its name promises (`parse_hex` takes `0X` and a sign before the prefix, `parse_json`
takes any JSON value at top level).
"""

import math
import time

import pytest
import rhai

from babel_api.parsing import parse_hex, parse_json, parse_rfc2822, parse_rfc3339, parse_time, to_json
from babel_api.rhai_functions import HostFunctions
from babel_api.testing import FakeEngine

MAY_FIRST_NOON_UTC = 1714564800  # 2024-05-01T12:00:00Z


@pytest.fixture
def script():
    """Evaluate a Rhai script on an engine with every host function registered."""
    engine = rhai.Engine(max_operations=1_000_000)
    HostFunctions(FakeEngine(), lambda: None).register(engine)
    return engine.eval


def literal(text: str) -> str:
    """`text` as a Rhai string literal, taken verbatim (a back-tick string has no escapes)."""
    assert "`" not in text and "${" not in text
    return f"`{text}`"


def caught(script, call: str) -> str:
    """The error a script catches from `call` (which must fail), as the script sees it."""
    return script(f'let out = "no error"; try {{ {call}; }} catch (err) {{ out = err; }} out')


# -- parse_hex -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0xff", 255),
        ("ff", 255),
        ("FF", 255),
        ("0xAbCd", 0xABCD),
        ("0XFF", 255),
        ("0x0", 0),
        ("0x00000001", 1),
        ("-ff", -255),
        ("+ff", 255),
        ("-0x1a", -26),
        ("+0x1a", 26),
        ("0x7fffffffffffffff", 2**63 - 1),
        ("-0x8000000000000000", -(2**63)),
    ],
)
def test_parse_hex(script, text, number):
    assert parse_hex(text) == number
    assert script(f'parse_hex("{text}")') == number
    assert script(f'type_of(parse_hex("{text}"))') == "i64"


@pytest.mark.parametrize(
    "text",
    ["", "0x", "-", "-0x", "0xzz", "12g", " 0xff", "0xff ", "0x_ff", "--ff", "0x0xff", "1.5", "0o17"],
)
def test_parse_hex_invalid(script, text):
    with pytest.raises(ValueError, match="parse_hex") as error:
        parse_hex(text)
    assert repr(text) in str(error.value)
    message = caught(script, f'parse_hex("{text}")')
    assert message.startswith("parse_hex")


@pytest.mark.parametrize(
    "text", ["0x8000000000000000", "0xffffffffffffffff", "-0x8000000000000001", "1" * 17]
)
def test_parse_hex_overflow(script, text):
    with pytest.raises(ValueError, match="64-bit"):
        parse_hex(text)
    assert "64-bit" in caught(script, f'parse_hex("{text}")')


# -- parse_json / to_json ------------------------------------------------------------------------------------


def test_parse_json_object(script):
    text = '{"a": 1, "b": [true, null, 1.5, "x"], "c": {"d": -7}}'
    expected = {"a": 1, "b": [True, None, 1.5, "x"], "c": {"d": -7}}
    assert parse_json(text) == expected
    assert script(f"parse_json({literal(text)})") == expected
    assert script(f"parse_json({literal(text)}).c.d") == -7
    assert script(f"type_of(parse_json({literal(text)}))") == "map"


def test_parse_json_array_and_null(script):
    assert parse_json("[1, 2]") == [1, 2]
    assert script("type_of(parse_json(`[1, 2]`))") == "array"
    assert parse_json("null") is None
    assert script('parse_json("null") == ()') is True


def test_parse_json_integers_beyond_64_bits_become_floats(script):
    text = '{"big": 18446744073709551616, "low": -9223372036854775809, "max": 9223372036854775807}'
    value = parse_json(text)
    assert value == {"big": 18446744073709551616.0, "low": -9223372036854775809.0, "max": 2**63 - 1}
    assert type(value["big"]) is float
    assert type(value["low"]) is float
    assert type(value["max"]) is int
    assert script(f"type_of(parse_json({literal(text)}).big)") == "f64"
    assert script(f"parse_json({literal(text)}).max") == 2**63 - 1


def test_parse_json_unicode_escapes(script):
    assert parse_json('{"s": "caf\\u00e9 \\"q\\""}') == {"s": 'café "q"'}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{\n  "a": }', 2, 8),
        ('{"a": 1,}', 1, 9),
        ("", 1, 1),
        ("{'a': 1}", 1, 2),
        ('{"a": 1} x', 1, 10),
    ],
)
def test_parse_json_invalid_names_line_and_column(script, text, line, column):
    with pytest.raises(ValueError) as error:
        parse_json(text)
    assert str(error.value).startswith("parse_json")
    assert f"line {line} column {column}" in str(error.value)
    message = caught(script, f"parse_json({literal(text)})")
    assert message.startswith("parse_json")
    assert f"line {line} column {column}" in message


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'])
def test_parse_json_refuses_what_json_does_not_have(text):
    # NaN and Infinity are not JSON (RFC 8259 §6); Rhai's reader refuses them too.
    with pytest.raises(ValueError, match="parse_json"):
        parse_json(text)


def test_to_json_is_sorted_and_compact(script):
    value = {"b": 1, "a": {"d": None, "c": [1.5, True, "x"]}, "é": "ü"}
    assert to_json(value) == '{"a":{"c":[1.5,true,"x"],"d":null},"b":1,"é":"ü"}'
    assert script('#{b: 1, a: #{d: (), c: [1.5, true, "x"]}, "é": "ü"}.to_json()') == to_json(value)
    assert script('to_json([1, "two", ()])') == '[1,"two",null]'


def test_to_json_of_what_json_cannot_hold():
    with pytest.raises(ValueError, match="to_json"):
        to_json({"a": object()})


def test_parse_json_and_to_json_round_trip(script):
    text = '{"a":[1,2,{"b":null}],"c":"d"}'
    assert to_json(parse_json(text)) == text
    assert script(f"parse_json({literal(text)}).to_json()") == text


# -- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T07:30:00-04:30",
        "2024-05-01T12:00:00.999999Z",
        "2024-05-01t12:00:00z",  # RFC 3339 §5.6: "T" and "Z" may be lower case
    ],
)
def test_parse_rfc3339(script, text):
    assert parse_rfc3339(text) == MAY_FIRST_NOON_UTC
    assert script(f'parse_rfc3339("{text}")') == MAY_FIRST_NOON_UTC
    assert script(f'parse_rfc3339("{text}") + 1') == MAY_FIRST_NOON_UTC + 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2024-13-01T12:00:00Z",
        "2024-05-01T25:00:00Z",
        "20240501T120000Z",  # ISO 8601 basic format, not RFC 3339
        "2024-05-01T12:00Z",  # seconds are mandatory in RFC 3339
        "2024-W18-3T12:00:00Z",  # ISO week date, not RFC 3339
    ],
)
def test_parse_rfc3339_invalid(script, text):
    with pytest.raises(ValueError, match="parse_rfc3339") as error:
        parse_rfc3339(text)
    assert repr(text) in str(error.value)
    message = caught(script, f'parse_rfc3339("{text}")')
    assert message.startswith("parse_rfc3339")
    assert text in message


@pytest.mark.parametrize("text", ["2024-05-01T12:00:00", "2024-05-01"])
def test_parse_rfc3339_without_offset(script, text):
    with pytest.raises(ValueError, match=r"parse_rfc3339.*offset"):
        parse_rfc3339(text)
    assert "offset" in caught(script, f'parse_rfc3339("{text}")')


@pytest.mark.parametrize(
    "text",
    [
        "Wed, 01 May 2024 12:00:00 +0000",
        "01 May 2024 14:00:00 +0200",
        "Wed, 1 May 2024 08:00:00 -0400",
        "Wed, 01 May 2024 12:00:00 GMT",
        "Wed, 01 May 2024 12:00:00 -0000",  # RFC 2822 §3.3: UTC, no local time zone known
    ],
)
def test_parse_rfc2822(script, text):
    assert parse_rfc2822(text) == MAY_FIRST_NOON_UTC
    # Spec §12: the original registered this as `parse_rfc2822(`, so scripts could not call it.
    assert script(f'parse_rfc2822("{text}")') == MAY_FIRST_NOON_UTC


@pytest.mark.parametrize("text", ["", "nope", "Wed, 32 May 2024 12:00:00 +0000", "2024-05-01T12:00:00Z"])
def test_parse_rfc2822_invalid(script, text):
    with pytest.raises(ValueError, match="parse_rfc2822") as error:
        parse_rfc2822(text)
    assert repr(text) in str(error.value)
    message = caught(script, f'parse_rfc2822("{text}")')
    assert message.startswith("parse_rfc2822")


def test_parse_rfc2822_without_offset(script):
    with pytest.raises(ValueError, match=r"parse_rfc2822.*offset"):
        parse_rfc2822("Wed, 01 May 2024 12:00:00")
    assert "offset" in caught(script, 'parse_rfc2822("Wed, 01 May 2024 12:00:00")')


@pytest.mark.parametrize(
    ("text", "format"),
    [
        ("2024-05-01 12:00:00 +0000", "%Y-%m-%d %H:%M:%S %z"),
        ("01/05/2024 14:00 +0200", "%d/%m/%Y %H:%M %z"),
        ("2024-122 12:00:00 +00:00", "%Y-%j %H:%M:%S %z"),
    ],
)
def test_parse_time(script, text, format):
    assert parse_time(text, format) == MAY_FIRST_NOON_UTC
    assert script(f'parse_time("{text}", "{format}")') == MAY_FIRST_NOON_UTC


def test_parse_time_invalid(script):
    with pytest.raises(ValueError, match="parse_time") as error:
        parse_time("May 1st", "%Y-%m-%d %z")
    assert "'May 1st'" in str(error.value)
    message = caught(script, 'parse_time("May 1st", "%Y-%m-%d %z")')
    assert message.startswith("parse_time")
    assert "May 1st" in message


def test_parse_time_without_offset(script):
    with pytest.raises(ValueError, match=r"parse_time.*offset"):
        parse_time("2024-05-01 12:00:00", "%Y-%m-%d %H:%M:%S")
    assert "offset" in caught(script, 'parse_time("2024-05-01 12:00:00", "%Y-%m-%d %H:%M:%S")')


def test_parse_errors_are_catchable_and_the_script_goes_on(script):
    assert script(
        """
            let seen = [];
            for text in ["0x10", "zz", "0x20"] {
                try { seen.push(parse_hex(text)); } catch (err) { seen.push("bad"); }
            }
            seen
            """
    ) == [16, "bad", 32]


def test_system_time(script):
    before = math.floor(time.time())
    now = script("system_time()")
    assert type(now) is int
    assert before <= now <= time.time() + 1
