"""Small helpers that turn "is this JSON value the right shape?" into located problems.

Hand-written rather than pydantic because the rules of a response depend on its project's
options (label set, rubric scales, number of claims) and the domain layer stays framework-free.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from .errors import Problem, ValidationFailed

# Bounds every stored value must respect on both databases (PostgreSQL ``integer`` ids,
# ``bigint`` amounts): an input outside them is refused here, never sent to the database.
MAX_ID = 2**31 - 1
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
MAX_BIGINT = 2**63 - 1
MIN_BIGINT = -(2**63)
# Nesting deeper than this is refused in JSON a client sends (items, responses, options).
MAX_JSON_DEPTH = 64


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text on every database, or None when it can.

    PostgreSQL refuses NUL in text and JSON, and no database can encode an unpaired UTF-16
    surrogate (a lone ``\\ud800`` decoded from JSON) as UTF-8.
    """
    if "\x00" in value:
        return "must not contain NUL (\\u0000) characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds an unpaired surrogate such as \\ud800)"
    return None


def _compact_encoder() -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode`` with the C encoder
    built once rather than per call (no cycle check: values come from parsed JSON, and a cycle
    still ends in ``RecursionError``)."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    c_encode = make(None, json.JSONEncoder().default, encoder.encode_basestring, None, ":", ",", False, False, True)
    join = "".join
    return lambda value: join(c_encode(value, 0))


_COMPACT = _compact_encoder()
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_NINETEEN_DIGITS = "0" * 19


def storable_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """The value as compact JSON text (``ensure_ascii=False``) when it plainly has none of the
    problems :func:`json_problems` looks for; None when it may have one (or is not JSON at all).

    A fast test for bulk imports: one C-speed serialisation instead of a walk in Python. It is
    conservative: a value it answers None for may still be fine, so callers then run
    :func:`json_problems` for the located verdict. NUL is escaped as ``\\u0000`` in the text,
    an unpaired surrogate fails to encode, an integer beyond 64 bits needs 19 digits in a row,
    and no value nests deeper than it has containers.
    """
    try:
        text = _COMPACT(value)
        text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return None
    if "\\u0000" in text or text.count("{") + text.count("[") > max_depth:
        return None
    if _NINETEEN_DIGITS in text.translate(_DIGITS_AS_ZERO):
        return None
    return text


def json_problems(value: Any, loc: str = "", *, max_depth: int = MAX_JSON_DEPTH) -> list[Problem]:
    """Every string (keys included) of a JSON value that cannot be stored, every integer outside
    64 bits, and nesting deeper than ``max_depth``; each with its location."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(value, loc, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            problems.append(Problem(where, f"is nested deeper than {max_depth} levels"))
            continue
        if isinstance(node, str):
            msg = text_problem(node)
            if msg:
                problems.append(Problem(where, msg))
        elif isinstance(node, bool) or node is None or isinstance(node, float):
            continue
        elif isinstance(node, int):
            if not MIN_BIGINT <= node <= MAX_BIGINT:
                problems.append(Problem(where, "is an integer outside the 64-bit range"))
        elif isinstance(node, dict):
            for key, item in node.items():
                key_text = str(key)
                msg = text_problem(key_text)
                if msg:
                    problems.append(Problem(where, f"has a field name that {msg}"))
                    continue
                stack.append((item, join(where, key_text), depth + 1))
        elif isinstance(node, list):
            stack.extend((item, join(where, i), depth + 1) for i, item in enumerate(node))
        if len(problems) >= 20:
            break
    problems.sort(key=lambda p: p.loc)
    return problems


class Checker:
    """Collects every problem in one pass so a user sees all of them at once."""

    def __init__(self, *, storable: bool = False) -> None:
        self.problems: list[Problem] = []
        # The caller found every string of the value storable already (``storable_json``): the
        # NUL and surrogate test per string is then skipped (a bulk import's largest check).
        self.storable = storable

    def fail(self, loc: str, msg: str) -> None:
        self.problems.append(Problem(loc, msg))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)

    # -- typed getters: each returns the value, or None after recording a problem -------------
    def mapping(self, value: Any, loc: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(loc, f"must be an object, got {type_name(value)}")
            return None
        return value

    def require_mapping(self, value: Any, loc: str) -> dict[str, Any]:
        """The value when it is an object; otherwise every problem so far is raised at once."""
        obj = self.mapping(value, loc)
        if obj is None:
            raise ValidationFailed(self.problems)
        return obj

    def text(self, obj: dict[str, Any], key: str, loc: str, *, required: bool = True,
             allow_empty: bool = False, max_len: int | None = None) -> str | None:
        where = join(loc, key)
        if key not in obj or obj[key] is None:
            if required:
                self.fail(where, "is required")
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.fail(where, f"must be a string, got {type_name(value)}")
            return None
        if not allow_empty and not value.strip():
            self.fail(where, "must not be empty")
            return None
        return self.text_value(value, where, max_len=max_len)

    def text_value(self, value: str, where: str, *, max_len: int | None = None) -> str | None:
        """A string that fits its column: at most ``max_len`` characters, no NUL, valid Unicode."""
        msg = None if self.storable else text_problem(value)
        if msg:
            self.fail(where, msg)
            return None
        if max_len is not None and len(value.strip()) > max_len:
            self.fail(where, f"must be at most {max_len} characters, got {len(value.strip())}")
            return None
        return value

    def json(self, value: Any, where: str) -> None:
        """Record every problem :func:`json_problems` finds in a free-form JSON value."""
        self.problems.extend(json_problems(value, where))

    def integer(self, obj: dict[str, Any], key: str, loc: str, *, lo: int | None = None,
                hi: int | None = None, required: bool = True) -> int | None:
        where = join(loc, key)
        if key not in obj or obj[key] is None:
            if required:
                self.fail(where, "is required")
            return None
        return self.int_value(obj[key], where, lo=lo, hi=hi)

    def int_value(self, value: Any, where: str, *, lo: int | None = None,
                  hi: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"must be an integer, got {type_name(value)}")
            return None
        lo = MIN_BIGINT if lo is None else lo
        hi = MAX_BIGINT if hi is None else hi
        if value < lo or value > hi:
            self.fail(where, f"must be between {lo} and {hi}, got {value}")
            return None
        return value

    def string_list(self, obj: dict[str, Any], key: str, loc: str, *, required: bool = True,
                    min_len: int = 0) -> list[str] | None:
        where = join(loc, key)
        if key not in obj or obj[key] is None:
            if required:
                self.fail(where, "is required")
            return None
        value = obj[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            hint = ""
            if isinstance(value, list) and any(isinstance(v, bool) for v in value):
                hint = " (YAML reads yes/no/on/off as booleans: quote them, e.g. 'yes')"
            self.fail(where, "must be a list of strings" + hint)
            return None
        if len(value) < min_len:
            self.fail(where, f"must have at least {min_len} entries, got {len(value)}")
            return None
        bad = [] if self.storable else [(i, m) for i, v in enumerate(value) if (m := text_problem(v))]
        for i, msg in bad:
            self.fail(join(where, i), msg)
        return None if bad else value

    def no_unknown(self, obj: dict[str, Any], allowed: Iterable[str], loc: str) -> None:
        allowed = set(allowed)
        for key in obj:
            if key not in allowed:
                self.fail(join(loc, key), f"unknown field (expected one of: {', '.join(sorted(allowed))})")


def join(loc: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{loc}[{key}]"
    return f"{loc}.{key}" if loc else key


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "list", str: "string", bool: "boolean",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)
