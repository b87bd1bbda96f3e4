"""Parquet files written a row group at a time: a later group is read under the file's schema
on a thread of the writer's own, and anything that schema does not hold exactly widens it."""

from __future__ import annotations

import math
import threading
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expertloop.domain.errors import ValidationFailed
from expertloop.services.exports import write_file
from expertloop.services.parquet import ParquetFileWriter


def _write(path, rows, row_group):
    writer = ParquetFileWriter(path, row_group=row_group)
    for row in rows:
        writer.add(row)
    assert writer.close() == len(rows)
    return pq.read_table(path)


def _inferred(rows: list[dict]) -> pa.Table:
    """All the records at once, every field any of them has (``from_pylist`` takes the first's)."""
    return pa.Table.from_struct_array(pa.array(rows))


def _writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "parquet-writer"]


def _record(i: int) -> dict:
    return {"prompt": [{"role": "user", "content": f"q{i}"}], "margin": float(i % 3),
            "metadata": {"item_id": i, "is_gold": i % 2 == 0, "criteria": None, "reasons": [],
                         "authenticity": {"outcome": "ok", "similarity": 0.5 if i % 4 else None}}}


def test_groups_read_under_the_schema_make_the_table_inference_makes(tmp_path):
    """The groups after the first are read by Arrow's JSON reader under the file's schema:
    the file holds exactly the table inferred from all the records at once."""
    rows = [_record(i) for i in range(50)]
    table = _write(tmp_path / "out.parquet", rows, row_group=7)
    expected = _inferred(rows)
    assert table.schema == expected.schema and table.equals(expected)
    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 8
    assert not _writer_threads()


@pytest.mark.parametrize("later", [
    {"prompt": [{"role": "user", "content": "x", "name": "new"}]},          # a new key inside a list of structs
    {"metadata": {"item_id": 9, "authenticity": {"outcome": "ok", "signals": {"paste": 2}}}},  # deeper
    {"metadata": {"item_id": 9, "criteria": {"honesty": 4}}},              # a value where all were null
    {"metadata": {"item_id": 9, "reasons": ["copied"]}},                   # an empty list gets items
    {"margin": 2},                                                          # an int where floats were
    {"metadata": {"item_id": 9.5}},                                         # a float where ints were
    {"extra": "top-level"},                                                 # a new column
])
def test_a_later_group_the_schema_does_not_hold_widens_it_and_loses_nothing(tmp_path, later):
    rows = [_record(i) for i in range(6)] + [later] + [_record(i) for i in range(6, 9)]
    table = _write(tmp_path / "out.parquet", rows, row_group=3)
    written = table.to_pylist()

    def kept(value, out):
        if isinstance(value, dict):
            return all(kept(v, out[k]) for k, v in value.items())
        if isinstance(value, list):
            return len(value) == len(out) and all(kept(v, o) for v, o in zip(value, out, strict=True))
        return value == out

    assert all(kept(row, out) for row, out in zip(rows, written, strict=True))
    assert table.equals(_inferred(rows).select(table.column_names).cast(table.schema))


def test_nan_and_infinity_are_null_in_every_group_as_in_jsonl(tmp_path):
    rows = [{"x": 1.5}, {"x": math.nan}, {"x": math.inf}, {"x": math.nan}, {"x": -math.inf}, {"x": 2.0}]
    table = _write(tmp_path / "out.parquet", rows, row_group=2)
    assert table.column("x").to_pylist() == [1.5, None, None, None, None, 2.0]


def test_a_group_orjson_refuses_is_written_from_its_records(tmp_path):
    """A value JSON has no form for (here a ``Decimal``) leaves its group without a JSON
    document: that group is converted from its records as they are."""
    rows = [{"a": 1}, {"a": 2}, {"b": Decimal("1.50"), "a": 3}, {"a": 4}, {"a": 5}]
    table = _write(tmp_path / "ok.parquet", rows, row_group=2)
    assert table.to_pylist() == [{"a": 1, "b": None}, {"a": 2, "b": None}, {"a": 3, "b": Decimal("1.50")},
                                 {"a": 4, "b": None}, {"a": 5, "b": None}]
    writer = ParquetFileWriter(tmp_path / "big.parquet", row_group=2)
    with pytest.raises((OverflowError, pa.ArrowException)):  # beyond 64 bits: neither JSON nor Arrow
        for row in [{"a": 1}, {"a": 2}, {"a": 2**64 + 1}, {"a": 4}, {"a": 5}] + [{"a": 6}] * 10:
            writer.add(row)
        writer.close()
    assert not _writer_threads()


def test_types_that_cannot_share_a_column_are_refused_by_name_and_the_thread_ends(tmp_path):
    writer = ParquetFileWriter(tmp_path / "out.parquet", row_group=2)
    with pytest.raises(ValidationFailed, match="do not fit one Parquet schema"):
        for row in [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}, {"a": "text"}, {"a": "more"}] + [{"a": 5}] * 20:
            writer.add(row)
        writer.close()
    assert not _writer_threads()


def test_an_export_whose_records_fail_midway_leaves_no_file_and_no_thread(tmp_path):
    def records():
        for i in range(45_000):  # past two default row groups: the writing thread is running
            yield {"i": i, "text": "x"}
        raise RuntimeError("the database went away")

    path = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError, match="went away"):
        write_file(records(), path)
    assert list(tmp_path.iterdir()) == []
    assert not _writer_threads()


def test_a_large_export_through_write_file_is_whole_and_in_order(tmp_path):
    rows = [{"i": i, "tags": ["a"] * (i % 3), "m": {"k": i % 7}} for i in range(45_000)]
    assert write_file(iter(rows), tmp_path / "out.parquet") == 45_000
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.equals(_inferred(rows))
    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 3
    assert not _writer_threads()


def test_parquet_keeps_a_field_the_first_record_of_a_row_group_lacks(tmp_path):
    writer = ParquetFileWriter(tmp_path / "out.parquet", row_group=3)
    for row in ({"a": 1}, {"a": 2, "score": 3}, {"a": 3}, {"a": 4}):
        writer.add(row)
    assert writer.close() == 4
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["a", "score"]
    assert table.to_pylist() == [{"a": 1, "score": None}, {"a": 2, "score": 3}, {"a": 3, "score": None},
                                 {"a": 4, "score": None}]


@pytest.mark.parametrize("groups", [
    [[{"a": 1}], [{"a": 2, "score": 3}]],            # a later group brings a field
    [[{"a": 1, "score": 3}], [{"a": 2}]],            # a later group lacks one
    [[{"a": 1, "m": {"x": 1}}], [{"m": {"y": "z"}, "a": 2}]],  # a nested field, another order
])
def test_parquet_row_groups_that_differ_in_fields_make_one_file(tmp_path, groups):
    writer = ParquetFileWriter(tmp_path / "out.parquet", row_group=1)
    for group in groups:
        for row in group:
            writer.add(row)
    assert writer.close() == 2
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    names = {k for group in groups for row in group for k in row}
    assert [set(r) for r in rows] == [names, names]
    for row, written in zip([r for g in groups for r in g], rows, strict=True):
        for key, value in row.items():
            if isinstance(value, dict):
                assert {k: v for k, v in written[key].items() if v is not None} == value
            else:
                assert written[key] == value


@pytest.mark.parametrize("big", [
    {"x": 2**53 + 1},                 # a float column
    {"m": {"x": 2**53 + 1}},          # inside a struct
    {"l": [2**53 + 1]},               # inside a list
])
def test_an_integer_a_float_column_cannot_hold_is_never_rounded(tmp_path, big):
    """Arrow's JSON reader would read 2**53 + 1 into a float column as 2**53; the group goes the
    slow way instead, which refuses it, as inferring from all the records at once does."""
    floats = [{"x": 1.5, "m": {"x": 0.5}, "l": [0.5]}, {"x": 2.5, "m": {"x": 1.5}, "l": [1.5]}]
    writer = ParquetFileWriter(tmp_path / "out.parquet", row_group=1)
    with pytest.raises(pa.ArrowInvalid, match="9007199254740993"):
        for row in [*floats, big, *floats]:
            writer.add(row)
        writer.close()
    with pytest.raises(pa.ArrowInvalid):
        _inferred([*floats, big])
    assert not _writer_threads()


def test_dates_are_their_iso_text_in_every_group_as_in_jsonl(tmp_path):
    """A date has no JSON type: the file holds the JSONL export's text, and a later group's text
    that looks like a date is never parsed into one."""
    rows = [{"d": date(2024, 5, 5)}, {"d": datetime(2024, 5, 5, 10, 0)}, {"d": "2024-05-05 10:00"},
            {"d": date(2025, 1, 1)}]
    table = _write(tmp_path / "out.parquet", rows, row_group=1)
    assert table.schema.field("d").type == pa.string()
    assert table.column("d").to_pylist() == ["2024-05-05", "2024-05-05T10:00:00", "2024-05-05 10:00", "2025-01-01"]


def test_a_failed_widening_leaves_no_copy_of_the_file_behind(tmp_path):
    writer = ParquetFileWriter(tmp_path / "out.parquet", row_group=1)
    with pytest.raises(pa.ArrowInvalid):  # widening int to float cannot hold the first group's 2**53 + 1
        for row in [{"x": [2**53 + 1]}, {"x": [1]}, {"x": [1.5]}, {"x": [2.5]}]:
            writer.add(row)
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]  # write_file removes this one


def test_a_group_beyond_the_document_limit_goes_by_its_records(tmp_path, monkeypatch):
    from expertloop.services import parquet

    monkeypatch.setattr(parquet, "_MAX_DOCUMENT", 200)
    rows = [_record(i) for i in range(12)]
    table = _write(tmp_path / "out.parquet", rows, row_group=4)
    assert table.equals(_inferred(rows))
