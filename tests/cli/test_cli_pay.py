"""``expertloop pay`` and ``expertloop disputes`` end to end on a real database."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from expertloop.storage.db import make_engine, make_sessionmaker
from tests import factories as f


def _expert(url: str) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        e = f.expert(s, name="Dana")
    engine.dispose()
    return e["id"]


def test_pay_flow_strict_money_and_payroll_csv(cli, tmp_path):
    eid = _expert(cli.url)
    today = datetime.now(UTC).date().isoformat()
    r = cli("pay", "open", "this", "--start", today, "--end", today)
    assert r.exit_code == 0, r.output
    period = r.stdout.strip()
    r = cli("pay", "open", "again", "--start", today, "--end", today)
    assert r.exit_code == 1 and "overlaps" in r.stderr
    r = cli("pay", "adjust", str(eid), "--amount", "12,50", "--bonus", "--reason", "Cover")
    assert r.exit_code == 1 and "ambiguous" in r.stderr          # never guessed
    r = cli("pay", "adjust", str(eid), "--amount", "12,50", "--bonus", "--reason", "Cover", "--locale", "fr-FR")
    assert r.exit_code == 0, r.output
    r = cli("pay", "adjust", str(eid), "--amount", "-0.05", "--reason", "Rounding fix")
    assert r.exit_code == 0, r.output
    r = cli("pay", "payroll", period)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["name"], x["bonuses_usd"], x["adjustments_usd"], x["total_usd"]) for x in rows] == [
        ("Dana", "12.50", "-0.05", "12.45")]
    out = tmp_path / "payroll.csv"
    r = cli("pay", "payroll", period, "-o", str(out))
    assert r.exit_code == 0 and out.read_text().splitlines()[1].endswith(",12.45")
    r = cli("pay", "statement", str(eid), period)
    lines = list(csv.reader(io.StringIO(r.stdout)))
    assert [ln[-1] for ln in lines[1:3]] == ["Cover", "Rounding fix"] and lines[-1][-2] == "12.45"
    assert json.loads(cli("pay", "periods", "--json").stdout)[0]["name"] == "this"
    assert cli("pay", "close", period).exit_code == 0
    r = cli("pay", "adjust", str(eid), "--amount=1.00", "--reason", "late")
    assert r.exit_code == 1 and "closed" in r.stderr


def test_disputes_commands(cli):
    r = cli("disputes", "list", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == []
    r = cli("disputes", "decide", "7", "--uphold", "--gold", "yes")
    assert r.exit_code == 1 and "dispute 7 not found" in r.stderr
    r = cli("disputes", "decide", "7")
    assert r.exit_code == 1 and "exactly one" in r.stderr


def test_empty_listings_say_so(cli):
    r = cli("pay", "periods")
    assert r.exit_code == 0 and r.stdout == "" and "no pay periods" in r.stderr
    r = cli("disputes", "list")
    assert r.exit_code == 0 and "no open disputes" in r.stderr
