"""Parquet files written a row group at a time, at flat memory, without losing a column.

Records turned into Arrow columns from Python objects (``Table.from_pydict``, type inference
included) cost about 7.5 µs a record under the interpreter's lock: at a million records, a
third of an export. So a row group travels as JSON instead: the caller's thread encodes it
(``orjson``, about 1.5 µs a record) and a second thread parses it with Arrow's JSON reader
under the file's schema and writes it. Both of the second thread's steps run in C++ without
the interpreter's lock, so on two cores they overlap the reading of the next group.

The first row group's schema is inferred from the records themselves. A later group is read
under that schema with unexpected fields refused (nested ones too) and no type conversion but
integer to floating point, so anything the schema does not hold exactly (a new field, a value
where every earlier one was null, another type) fails the fast read. That group then goes the
slow way: its columns are inferred, the schemas are unified and the groups written so far are
rewritten under the wider schema (nulls cast to any type), so a column is never silently
dropped. Types that cannot be unified raise ``ValidationFailed``.

The values are the JSON export's: a group is read (or decoded, before its types are inferred)
from its JSON document, so a NaN or infinite number (which JSON cannot express) is null, and a
date is its ISO text, as in the JSONL export. A group with a record ``orjson`` refuses (an
integer beyond 64 bits, a non-string key, an unpaired surrogate), or whose JSON passes 1 GiB,
is converted from its records as they are.
"""

from __future__ import annotations

import io
import queue
import threading
from pathlib import Path
from typing import Any

import orjson

from ..domain.errors import ValidationFailed

ROW_GROUP = 20_000      # records per Parquet row group (memory holds about three groups)
_dumps = orjson.dumps


def _columns(rows: list[dict]) -> dict[str, list]:
    """Records as column lists, one per field any of them has (in order of first appearance);
    a record without a field gives null there."""
    first = rows[0].keys()
    names = list(first)
    if any(row.keys() != first for row in rows):
        seen = set(names)
        for row in rows:
            for name in row:
                if name not in seen:
                    seen.add(name)
                    names.append(name)
    return {name: [row.get(name) for row in rows] for name in names}


def _conform(table, schema):
    """``table`` under ``schema``, a wider one: columns in its order, cast to its types (nested
    fields a row group lacks become null), and null columns for the fields it lacks."""
    import pyarrow as pa

    present = set(table.column_names)
    columns = [table.column(field.name).cast(field.type) if field.name in present else pa.nulls(len(table), field.type)
               for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)


_FLOAT_EXACT = 2.0**53  # above this a float no longer holds every integer
_MAX_DOCUMENT = 1 << 30  # a group's JSON beyond this goes by its records (readers stop near 2 GiB)


def _json_typed(schema) -> bool:
    """Whether every type in ``schema`` is one JSON values are inferred as (null, bool, 64-bit
    integers, double, string, lists, structs): Arrow's JSON reader would convert text into
    anything else (a string into a timestamp) where inference from the records would not."""
    import pyarrow as pa

    def plain(t) -> bool:
        if pa.types.is_struct(t):
            return all(plain(t.field(i).type) for i in range(t.num_fields))
        if pa.types.is_list(t):
            return plain(t.value_type)
        return (pa.types.is_null(t) or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_float64(t)
                or pa.types.is_int64(t) or pa.types.is_uint64(t))

    return all(plain(field.type) for field in schema)


def _floats_exact(column) -> bool:
    """No float in ``column`` (at any depth) reaches 2**53."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for array in getattr(column, "chunks", [column]):
        t = array.type
        if pa.types.is_floating(t):
            top = pc.max(pc.abs(array)).as_py()
            if top is not None and top >= _FLOAT_EXACT:
                return False
        elif pa.types.is_struct(t):
            if not all(_floats_exact(child) for child in array.flatten()):
                return False
        elif pa.types.is_list(t) and not _floats_exact(array.flatten()):
            return False
    return True


class _Group:
    """One row group on its way to the file: its records as one JSON document
    (``{"rows": [...]}``, one ``orjson`` call, about 1.5 µs a record) and, where the types are
    still to be inferred (the first group) or ``orjson`` refused a record, the records too."""

    __slots__ = ("json", "rows")

    def __init__(self, rows: list[dict], *, keep: bool):
        self.rows: list[dict] | None = rows if keep else None
        try:
            self.json: bytes | None = _dumps({"rows": rows})
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            self.json, self.rows = None, rows
        if self.json is not None and len(self.json) > _MAX_DOCUMENT:  # beyond what the readers take
            self.json, self.rows = None, rows

    def records(self) -> list[dict]:
        """The records as the JSON export holds them (as they are, where it could not)."""
        if self.json is None:
            assert self.rows is not None
            return self.rows
        return orjson.loads(self.json)["rows"]


class _FileWriter:
    """The file itself: schema, Arrow writer, widening. Used by one thread at a time."""

    def __init__(self, path: Path):
        self.path = path
        self.schema: Any = None
        self.readable = False  # the schema holds only types Arrow's JSON reader makes exactly
        self.writer: Any = None

    def write(self, group: _Group) -> None:
        if self.writer is None:
            table = self._first(group)
        else:
            table = self._fast(group) if group.json is not None else None
            if table is None:
                table = self._widened(group.records())
        self.writer.write_table(table)

    def _set_schema(self, schema) -> None:
        self.schema = schema
        self.readable = _json_typed(schema)

    def _first(self, group: _Group):
        """The first group sets the schema: inferred from the records as they are (decoding the
        JSON again would cost more than inferring), the values read from the JSON under it.
        Records holding values JSON has no type for (dates, decimals: never an export's) are
        inferred from their JSON instead, so every later group can be read the fast way."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert group.rows is not None
        table = pa.Table.from_pydict(_columns(group.rows))
        if group.json is not None:
            self._set_schema(table.schema)
            fast = self._fast(group)
            table = fast if fast is not None else pa.Table.from_pydict(_columns(group.records()))
        self._set_schema(table.schema)
        self.writer = pq.ParquetWriter(self.path, self.schema)
        return table

    def _fast(self, group: _Group):
        """The group read by Arrow under the file's schema exactly, or None (then the caller
        infers its types): when the group holds what the schema does not (Arrow refuses), when
        the schema has a type JSON has no form for, and when a float column reaches 2**53,
        where a JSON integer read into it may have been rounded (the slow way refuses it)."""
        import pyarrow as pa
        import pyarrow.json as pj

        assert group.json is not None
        if not self.readable:
            return None
        document = pa.schema([pa.field("rows", pa.list_(pa.struct(list(self.schema))))])
        try:
            table = pj.read_json(io.BytesIO(group.json),
                                 parse_options=pj.ParseOptions(explicit_schema=document,
                                                               unexpected_field_behavior="error"),
                                 read_options=pj.ReadOptions(use_threads=False, block_size=len(group.json) + 1))
            table = pa.Table.from_struct_array(table.column("rows").combine_chunks().flatten())
        except Exception:  # not this schema exactly, or beyond the reader (a 2 GiB group): the slow way
            return None
        if not all(_floats_exact(column) for column in table.columns):
            return None
        return table if table.schema == self.schema else _conform(table, self.schema)

    def _widened(self, rows: list[dict]):
        """A group the file's schema does not hold: its own schema inferred, unified with the
        file's, and the file rewritten under the wider one where needed."""
        import pyarrow as pa

        table = pa.Table.from_pydict(_columns(rows))
        if table.schema != self.schema:
            try:
                wider = pa.unify_schemas([self.schema, table.schema], promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise ValidationFailed(f"the records do not fit one Parquet schema ({exc}); export as JSONL",
                                       loc="file") from None
            if wider != self.schema:
                self._rewrite(wider)
            table = _conform(table, self.schema)
        return table

    def _rewrite(self, schema) -> None:
        import pyarrow.parquet as pq

        self.writer.close()
        old = self.path.with_name(self.path.name + ".old")
        self.path.replace(old)
        try:
            self._set_schema(schema)
            self.writer = pq.ParquetWriter(self.path, schema)
            source = pq.ParquetFile(old)
            for i in range(source.num_row_groups):
                self.writer.write_table(_conform(source.read_row_group(i), schema))
        finally:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:  # no records: an empty file with no columns
            pq.write_table(pa.table({}), self.path)
        else:
            self.writer.close()

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


_DONE = None


class ParquetFileWriter:
    """Writes records to a Parquet file one row group at a time (see the module's docstring).

    ``add`` records, then ``close`` (which raises what went wrong on the writing thread, e.g.
    ``ValidationFailed`` for types that cannot share a column); ``abort`` stops without
    finishing the file when the records could not all be read. A file of one row group is
    written on the caller's thread; from the second group on, groups are written on a thread
    of the writer's own while the caller reads the next (at most one group waits between them)."""

    def __init__(self, path: Path, *, row_group: int = ROW_GROUP):
        self.row_group = row_group
        self.rows: list[dict] = []
        self.count = 0
        self._file = _FileWriter(path)
        self._queue: queue.Queue[_Group | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._pending: _Group | None = None

    def add(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.row_group:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._error is not None:  # the writing thread failed: stop it and say why
            error = self._error
            self.abort()
            raise error
        group = _Group(self.rows, keep=self.count == 0)
        self.count += len(self.rows)
        self.rows = []
        if self._pending is None and self._thread is None:  # the first group waits: it may be the only one
            self._pending = group
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="parquet-writer", daemon=True)
            self._thread.start()
            self._queue.put(self._pending)
            self._pending = None
        self._queue.put(group)

    def _run(self) -> None:
        while (group := self._queue.get()) is not _DONE:
            if self._error is None:  # after an error, groups are taken and dropped until the end
                try:
                    self._file.write(group)
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_DONE)
            self._thread.join()
            self._thread = None

    def close(self) -> int:
        """Write what is left and finish the file; returns the number of records."""
        try:
            if self.rows:
                self._hand_over()
            if self._pending is not None:
                group, self._pending = self._pending, None
                self._file.write(group)
            self._stop()
            if self._error is not None:
                raise self._error
        except BaseException:
            self.abort()
            raise
        self._file.close()
        return self.count

    def abort(self) -> None:
        """Stop writing, leaving the file unfinished (for the caller to remove)."""
        self.rows, self._pending = [], None
        if self._error is None:
            self._error = RuntimeError("the Parquet file was abandoned")
        self._stop()
        self._file.abandon()
