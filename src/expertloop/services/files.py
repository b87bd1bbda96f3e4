"""Reading records from user files (JSONL, JSON, CSV, Parquet, YAML), each with its line.

Every parse error names the file and the line (or row) it is on. :class:`RecordFile` streams a
file's records (flat memory for a million of them) and hands each unreadable line to the reader
as a :class:`~expertloop.domain.errors.Problem`, so an import reports every bad line at once and
stays all-or-nothing; :func:`read_records` reads a small file whole.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..domain.errors import Problem, ValidationFailed

RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
READ_BATCH = 1000  # Parquet rows decoded at a time


class RecordFile:
    """The records of a data file, read lazily: iterating yields ``(line, record)`` pairs, and
    ``(line, Problem)`` for a line that cannot be read (bad UTF-8, bad JSON, too deep), so a
    reader sees every bad line of the file, not only the first, and memory stays flat however
    large the file. JSONL, CSV and Parquet stream (Parquet in row batches); a ``.json`` list is
    one document and is read whole.

    ``total`` is the number of records to expect (JSONL and CSV: lines, counted quickly before
    reading; Parquet: rows from its footer), for progress bars. ``unit`` names a record's place:
    ``row`` for Parquet, ``line`` otherwise.
    """

    def __init__(self, path: Path):
        if not path.exists():
            raise ValidationFailed(f"no such file: {path}", loc="file")
        if path.is_dir():
            raise ValidationFailed(f"{path} is a folder, not a file", loc="file")
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix not in RECORD_SUFFIXES:
            raise ValidationFailed(f"{path.name}: unsupported file type {self.suffix or '(none)'}; use "
                                   + ", ".join(RECORD_SUFFIXES), loc="file")
        self.unit = "row" if self.suffix == ".parquet" else "line"
        self._document: list | None = None

    @property
    def total(self) -> int | None:
        if self.suffix in (".jsonl", ".ndjson", ".csv"):
            return _count_lines(self.path) - (1 if self.suffix == ".csv" else 0)
        if self.suffix == ".parquet":
            return self._parquet_file().metadata.num_rows
        return len(self._json_document())

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        try:
            if self.suffix in (".jsonl", ".ndjson"):
                yield from _jsonl(self.path)
            elif self.suffix == ".csv":
                yield from _csv(self.path)
            elif self.suffix == ".parquet":
                yield from _parquet(self.path, self._parquet_file())
            else:
                yield from ((i + 1, r) for i, r in enumerate(self._json_document()))
        except RecursionError:
            raise ValidationFailed(f"{self.path.name}: nested too deeply to read", loc="file") from None

    def _json_document(self) -> list:
        if self._document is None:
            data = read_document(self.path)
            if not isinstance(data, list):
                raise ValidationFailed(f"{self.path.name}: a .json file must hold a list of records")
            self._document = data
        return self._document

    def _parquet_file(self):
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise ValidationFailed(f"{self.path.name}: not a readable Parquet file ({exc})") from None


def read_records(path: Path) -> list[tuple[int, Any]]:
    """Every record of a (small) data file with its 1-based line (CSV: the file line; Parquet:
    row); every unreadable line is reported at once, nothing is returned until all are read."""
    problems: list[Problem] = []
    records: list[tuple[int, Any]] = []
    for line, record in RecordFile(path):
        if isinstance(record, Problem):
            problems.append(record)
        else:
            records.append((line, record))
    if problems:
        raise ValidationFailed(problems)
    return records


def _count_lines(path: Path) -> int:
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (0 if last == b"\n" else 1)


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


# orjson reads a valid line several times faster than ``json`` (a million-line import spends a
# tenth of its time here). It refuses some JSON ``json`` reads (NaN, integers beyond 64 bits,
# lone surrogates), and it names problems differently: such lines go through ``json`` as before.
# It also reads an integer beyond 64 bits as a float: a line with 19 digits in a row goes
# through ``json`` too, which keeps the integer (validation then names it).
_fast_loads = orjson.loads
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_ZEROS = b"0" * 19


def _jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """Line by line; a bad line (bad UTF-8, bad JSON, too deep) gives its ``Problem``."""
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            if _NINETEEN_ZEROS not in raw.translate(_DIGITS_AS_ZERO):  # orjson reads a huge integer as a float
                try:  # the common case at C speed; what orjson refuses gets the exact reason below
                    yield n, _fast_loads(raw)
                    continue
                except (orjson.JSONDecodeError, RecursionError):
                    pass
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield n, Problem(f"line {n}", f"is not UTF-8 text (byte {exc.start + 1} of the line)")
                continue
            if not line.strip():
                continue
            problems: list[Problem] = []
            record = _decode_json(line, f"line {n}", problems)
            yield (n, problems[0]) if record is _UNREADABLE else (n, record)


def _csv_cell(value: str) -> Any:
    text = value.strip()
    if text == "":
        return None
    if text[0] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    if text.lstrip("-").isdecimal() and len(text) < 18:
        return int(text)
    return value


def _csv(path: Path) -> Iterator[tuple[int, Any]]:
    """CSV cells: empty means absent, JSON lists/objects are parsed, integers become integers.
    Text columns (``text``, ``prompt``, ``response``, ``name``...) stay text."""
    keep_text = {"text", "prompt", "response", "name", "email", "external_id", "country", "completion"}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            if reader.fieldnames is None:
                raise ValidationFailed(f"{path.name}: empty CSV file")
            for row in reader:
                line = reader.line_num
                if None in row:
                    yield line, Problem(f"line {line}", "more cells than the header has columns")
                    continue
                record = {}
                for key, value in row.items():
                    cell = value if key in keep_text else _csv_cell(value or "")
                    if key in keep_text and (value or "").strip() == "":
                        cell = None
                    if cell is not None:
                        record[key.strip()] = cell
                yield line, record
        except UnicodeDecodeError:
            yield reader.line_num + 1, Problem(f"line {reader.line_num + 1}",
                                               "is not UTF-8 text (the file is read no further); save it as UTF-8")
        except csv.Error as exc:
            yield reader.line_num, Problem(f"line {reader.line_num}", f"unreadable CSV: {exc}")


def _parquet(path: Path, pf) -> Iterator[tuple[int, Any]]:
    n = 0
    try:
        for batch in pf.iter_batches(batch_size=READ_BATCH):
            for row in batch.to_pylist():
                n += 1
                yield n, {k: v for k, v in row.items() if v is not None}
    except ValidationFailed:
        raise
    except Exception as exc:  # a damaged row group
        yield n + 1, Problem(f"row {n + 1}", f"not readable from {path.name} ({exc})")
