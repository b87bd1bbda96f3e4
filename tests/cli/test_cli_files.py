"""CLI manners with files: every problem at once, rosters import again, no guessed rates,
imports streamed with their totals."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Expert, Item


@pytest.fixture()
def cli(cli):
    """The shared ``cli`` fixture (tests/cli/conftest.py), on an initialised database."""
    assert cli("init").exit_code == 0
    return cli


def _count(url: str, model) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            return s.execute(select(func.count()).select_from(model)).scalar_one()
    finally:
        engine.dispose()


def _labels(cli, tmp_path) -> str:
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"name": "Labels", "task_type": "label", "options": {"labels": ["a", "b"]}}))
    return cli("project", "create", str(p)).output.strip()


def test_every_bad_json_line_is_reported_not_only_the_first(cli, tmp_path):
    pid = _labels(cli, tmp_path)
    f = tmp_path / "items.jsonl"
    f.write_bytes(b'{"text": "ok"}\n{"text": \n{"text": "fine", "gold": "z"}\n\xff\xfe\n{"text" "x"}\n'
                  b'{"text": "ok again"}\n')
    r = cli("items", "import", pid, str(f))
    assert r.exit_code == 1
    assert "4 problems, nothing was changed" in r.output
    for expected in ("line 2: invalid JSON", "line 3: gold", "line 4: is not UTF-8", "line 5: invalid JSON"):
        assert expected in r.output, r.output
    assert _count(cli.url, Item) == 0


def test_a_repeat_across_batches_names_its_first_line(cli, tmp_path):
    from expertloop.services import imports

    pid = _labels(cli, tmp_path)
    f = tmp_path / "items.jsonl"
    lines = [json.dumps({"external_id": f"x{i}", "text": f"t{i}"}) for i in range(imports.BATCH + 5)]
    lines.append(json.dumps({"external_id": "x3", "text": "again"}))
    f.write_text("\n".join(lines) + "\n")
    r = cli("items", "import", pid, str(f))
    assert r.exit_code == 1 and f"line {imports.BATCH + 6}: external_id: 'x3' repeats line 4" in r.output, r.output
    assert _count(cli.url, Item) == 0


def test_parquet_items_stream_in_row_batches(cli, tmp_path):
    from expertloop.services import files

    pid = _labels(cli, tmp_path)
    n = files.READ_BATCH * 2 + 7
    path = tmp_path / "items.parquet"
    pq.write_table(pa.Table.from_pylist([{"external_id": f"p{i}", "text": f"t{i}", "gold": "a" if i % 2 else None}
                                         for i in range(n)]), path, row_group_size=500)
    assert files.RecordFile(path).total == n and files.RecordFile(path).unit == "row"
    r = cli("items", "import", pid, str(path))
    assert r.exit_code == 0, r.output
    assert f"imported {n} items" in r.output and f"{n // 2} with gold" in r.output
    if cli.url.startswith("sqlite"):  # planner statistics were refreshed after the bulk write
        import sqlite3

        with sqlite3.connect(cli.url.removeprefix("sqlite:///")) as db:
            assert db.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'items'").fetchone()[0] > 0
    r = cli("items", "import", pid, str(path))
    assert f"imported 0 items into project {pid} ({n} already present" in r.output


def test_roster_imports_again_with_a_new_row_and_refuses_a_missing_rate(cli, tmp_path):
    roster = tmp_path / "experts.csv"
    roster.write_text("name,email,hourly_rate_usd\nAna,ana@example.org,80.00\nBo,bo@example.org,95.50\n")
    r = cli("experts", "import", str(roster))
    assert r.exit_code == 0, r.output
    roster.write_text(roster.read_text() + "Cy,cy@example.org,60\n")
    r = cli("experts", "import", str(roster))
    assert r.exit_code == 0, r.output
    assert "imported 1 experts (2 already registered)" in r.output and "cy@example.org" in r.stdout
    assert _count(cli.url, Expert) == 3

    roster.write_text("name,email,hourly_rate_usd\nDee,dee@example.org,\nEd,ed@example.org,70\nFay,fay@example.org\n")
    r = cli("experts", "import", str(roster))
    assert r.exit_code == 1
    assert "line 2: hourly_rate_usd: is required" in r.output and "line 4: hourly_rate_usd: is required" in r.output
    assert _count(cli.url, Expert) == 3
