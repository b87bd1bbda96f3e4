"""``expertloop backup`` / ``restore``: a consistent SQLite copy taken while the database is in use."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from expertloop.cli.main import app


def _run(args, url, **kw):
    return CliRunner().invoke(app, args, env={"EXPERTLOOP_DATABASE_URL": url, "COLUMNS": "200"}, **kw)


def _count(path, table):
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_backup_then_restore_round_trips_the_data_with_a_writer_open(tmp_path):
    db, copy, restored = tmp_path / "live.db", tmp_path / "backup.db", tmp_path / "restored.db"
    url = f"sqlite:///{db}"
    assert _run(["init"], url).exit_code == 0
    experts = tmp_path / "experts.csv"
    experts.write_text("name,email,degree,domains,languages,hourly_rate_usd\n"
                       "Ada,ada@example.org,phd,history:4,en,120.00\nBo,bo@example.org,master,law:3,en,80.00\n")
    assert _run(["experts", "import", str(experts)], url).exit_code == 0
    writer = sqlite3.connect(db)  # a server still holding the file, mid-transaction, does not block a backup
    writer.execute("BEGIN")
    writer.execute("UPDATE experts SET name = 'uncommitted' WHERE id = 1")
    try:
        result = _run(["backup", str(copy)], url)
    finally:
        writer.rollback()
        writer.close()
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output and _count(copy, "experts") == 2
    with sqlite3.connect(copy) as conn:  # the uncommitted write is not in the snapshot
        assert conn.execute("SELECT name FROM experts WHERE id = 1").fetchone()[0] == "Ada"
    result = _run(["restore", str(copy)], f"sqlite:///{restored}")
    assert result.exit_code == 0, result.output
    assert _count(restored, "experts") == 2
    assert _run(["init"], f"sqlite:///{restored}").exit_code == 0


def test_backup_and_restore_refuse_what_would_lose_data(tmp_path):
    db, copy = tmp_path / "live.db", tmp_path / "backup.db"
    url = f"sqlite:///{db}"
    assert _run(["init"], url).exit_code == 0
    assert _run(["backup", str(copy)], url).exit_code == 0
    again = _run(["backup", str(copy)], url)                      # never overwrite silently
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert _run(["backup", str(copy), "--overwrite"], url).exit_code == 0
    onto_live = _run(["restore", str(copy)], url)                # an existing database needs --overwrite
    assert onto_live.exit_code == 1 and "--overwrite" in onto_live.output
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    bad = _run(["restore", str(junk), "--overwrite"], url)
    assert bad.exit_code == 1 and "not a SQLite database" in bad.output
    assert _count(db, "alembic_version") == 1                     # the live database is untouched


def test_postgresql_gets_pg_dump_guidance_not_a_traceback(tmp_path):
    result = _run(["backup", str(tmp_path / "x.db")], "postgresql+psycopg://postgres@127.0.0.1:5432/whatever")
    assert result.exit_code == 1 and "pg_dump" in result.output and "Traceback" not in result.output
