"""The parsing helpers scripts call: JSON, hexadecimal numbers and timestamps.

Each does what its name promises and fails with a message naming the function and the input, so
that a plugin author sees at once which value was wrong. (The original's date helpers handed an
opaque value to scripts and one of them could not be called at all; these return Unix seconds.)
"""

import datetime
import email.utils
import json
import re
import time
from typing import Any

# A date, and a time with an optional offset: one without is refused later, for naming no moment.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?)?")

# Rhai integers are 64-bit signed; a JSON number outside that range arrives as a float.
_INT_RANGE = range(-(2**63), 2**63)


def parse_json(text: str) -> Any:
    """Parse JSON text; `null` is `()`, integers outside the 64-bit range become floats."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"parse_json: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    return _fit_integers(value)


def _refuse_constant(name: str) -> None:
    # Python's reader takes NaN and Infinity, which JSON does not have.
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def _fit_integers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _fit_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fit_integers(item) for item in value]
    if type(value) is int and value not in _INT_RANGE:
        return float(value)
    return value


def to_json(value: Any) -> str:
    """Compact JSON with sorted keys, as the host writes it everywhere."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    except TypeError as error:
        raise ValueError(f"to_json: {error}") from None


def parse_hex(text: str) -> int:
    """A hexadecimal integer, as JSON-RPC quantities are written: `0x1a`, `1A`, `-0xff`."""
    digits = text.removeprefix("-").removeprefix("+")
    digits = digits[2:] if digits[:2] in ("0x", "0X") else digits
    if not digits or any(char not in "0123456789abcdefABCDEF" for char in digits):
        raise ValueError(f"parse_hex: {text!r} is not a hexadecimal number")
    number = int(digits, 16) * (-1 if text.startswith("-") else 1)
    if number not in _INT_RANGE:
        raise ValueError(f"parse_hex: {text!r} is outside the 64-bit integer range")
    return number


def system_time() -> int:
    """The current Unix time in whole seconds."""
    return int(time.time())


def parse_rfc3339(text: str) -> int:
    """Unix seconds of an RFC 3339 timestamp such as `2024-05-01T12:00:00Z`."""
    # fromisoformat takes much of ISO 8601 that RFC 3339 does not (week dates, basic format, ...).
    stripped = text.strip()
    try:
        if not _RFC3339.fullmatch(stripped):
            raise ValueError(stripped)
        moment = datetime.datetime.fromisoformat(stripped.upper())
    except ValueError:
        raise ValueError(f"parse_rfc3339: {text!r} is not an RFC 3339 timestamp") from None
    return _unix_seconds("parse_rfc3339", text, moment)


def parse_rfc2822(text: str) -> int:
    """Unix seconds of an RFC 2822 timestamp such as `Wed, 01 May 2024 12:00:00 +0000`."""
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise ValueError(f"parse_rfc2822: {text!r} is not an RFC 2822 timestamp") from None
    if moment.tzinfo is None and text.rstrip().endswith("-0000"):
        # RFC 2822 §3.3: -0000 is UTC, from a sender that does not know its local zone.
        moment = moment.replace(tzinfo=datetime.UTC)
    return _unix_seconds("parse_rfc2822", text, moment)


def parse_time(text: str, format: str) -> int:
    """Unix seconds of `text` read with a strftime `format`, which must include the UTC offset (`%z`)."""
    try:
        moment = datetime.datetime.strptime(text, format)
    except ValueError as error:
        raise ValueError(f"parse_time: {text!r} does not match {format!r}: {error}") from None
    return _unix_seconds("parse_time", text, moment)


def _unix_seconds(function: str, text: str, moment: datetime.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{function}: {text!r} has no UTC offset, so it names no single moment")
    return int(moment.timestamp())
