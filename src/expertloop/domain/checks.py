"""Small helpers that turn "is this JSON value the right shape?" into located problems.

Hand-written rather than pydantic because the rules of a response depend on its project's
options (label set, rubric scales, number of claims) and the domain layer stays framework-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import Problem, ValidationFailed


class Checker:
    """Collects every problem in one pass so a user sees all of them at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, loc: str, msg: str) -> None:
        self.problems.append(Problem(loc, msg))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)

    # -- typed getters: each returns the value, or None after recording a problem -------------
    def mapping(self, value: Any, loc: str) -> dict | None:
        if not isinstance(value, dict):
            self.fail(loc, f"must be an object, got {type_name(value)}")
            return None
        return value

    def text(self, obj: dict, key: str, loc: str, *, required: bool = True,
             allow_empty: bool = False) -> str | None:
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
        return value

    def integer(self, obj: dict, key: str, loc: str, *, lo: int | None = None,
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
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(where, f"must be between {lo} and {hi}, got {value}")
            return None
        return value

    def string_list(self, obj: dict, key: str, loc: str, *, required: bool = True,
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
        return value

    def no_unknown(self, obj: dict, allowed: Iterable[str], loc: str) -> None:
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
