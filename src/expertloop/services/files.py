"""Reading records from user files (JSONL, JSON, CSV, Parquet, YAML), each with its line.

Every parse error names the file and the line (or row) it is on, and nothing is returned
until the whole file has been read: imports are all-or-nothing from the first byte.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..domain.errors import Problem, ValidationFailed

RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")


def read_records(path: Path) -> list[tuple[int, dict]]:
    """Records of a data file paired with their 1-based line (CSV: the file line; Parquet: row)."""
    if not path.exists():
        raise ValidationFailed(f"no such file: {path}", loc="file")
    suffix = path.suffix.lower()
    readers = {".jsonl": _jsonl, ".ndjson": _jsonl, ".json": _json_list, ".csv": _csv, ".parquet": _parquet}
    if suffix not in readers:
        raise ValidationFailed(f"{path.name}: unsupported file type {suffix or '(none)'}; use "
                               + ", ".join(RECORD_SUFFIXES), loc="file")
    try:
        return list(readers[suffix](path))
    except UnicodeDecodeError as exc:
        raise ValidationFailed(_not_utf8(path, exc), loc="file") from None
    except RecursionError:
        raise ValidationFailed(f"{path.name}: nested too deeply to read", loc="file") from None


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> str:
    byte = exc.object[exc.start:exc.start + 1]
    return f"{path.name}: not UTF-8 text (byte {exc.start} is {byte!r}); save it as UTF-8"


_UNREADABLE = object()


def _decode_json(text: str, where: str, problems: list[Problem]) -> Any:
    """One JSON value, or ``_UNREADABLE`` after recording why (with its location)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(where, f"invalid JSON: {exc.msg} (column {exc.colno})"))
    except RecursionError:
        problems.append(Problem(where, "is nested too deeply to read"))
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        problems.append(Problem(where, f"invalid JSON: {exc}"))
    return _UNREADABLE


def read_document(path: Path) -> Any:
    """One YAML or JSON document (a project definition)."""
    if not path.exists():
        raise ValidationFailed(f"no such file: {path}", loc="file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(_not_utf8(path, exc), loc="file") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"{path.name} line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValidationFailed(f"{path.name}: nested too deeply to read", loc="file") from None
    except ValueError as exc:
        raise ValidationFailed(f"{path.name}: invalid JSON: {exc}", loc="file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ValidationFailed(f"{path.name}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Every line is read, so every bad line (bad UTF-8, bad JSON, too deep) is reported at once."""
    problems: list[Problem] = []
    records = []
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(Problem(f"line {n}", f"is not UTF-8 text (byte {exc.start + 1} of the line)"))
                continue
            if not line.strip():
                continue
            record = _decode_json(line, f"line {n}", problems)
            if record is not _UNREADABLE:
                records.append((n, record))
    if problems:
        raise ValidationFailed(problems)
    return iter(records)


def _json_list(path: Path) -> Iterator[tuple[int, dict]]:
    data = read_document(path)
    if not isinstance(data, list):
        raise ValidationFailed(f"{path.name}: a .json file must hold a list of records")
    return ((i + 1, r) for i, r in enumerate(data))


def _csv_cell(value: str) -> Any:
    text = value.strip()
    if text == "":
        return None
    if text[0] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    if text.lstrip("-").isdigit() and len(text) < 18:
        return int(text)
    return value


def _csv(path: Path) -> Iterator[tuple[int, dict]]:
    """CSV cells: empty means absent, JSON lists/objects are parsed, integers become integers.
    Text columns (``text``, ``prompt``, ``response``, ``name``...) stay text."""
    keep_text = {"text", "prompt", "response", "name", "email", "external_id", "country", "completion"}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise ValidationFailed(f"{path.name}: empty CSV file")
        out = []
        for row in reader:
            line = reader.line_num
            if None in row:
                raise ValidationFailed(f"line {line}: more cells than the header has columns")
            record = {}
            for key, value in row.items():
                cell = value if key in keep_text else _csv_cell(value or "")
                if key in keep_text and (value or "").strip() == "":
                    cell = None
                if cell is not None:
                    record[key.strip()] = cell
            out.append((line, record))
    return iter(out)


def _parquet(path: Path) -> Iterator[tuple[int, dict]]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise ValidationFailed(f"{path.name}: not a readable Parquet file ({exc})") from None
    return ((i + 1, {k: v for k, v in r.items() if v is not None}) for i, r in enumerate(rows))
