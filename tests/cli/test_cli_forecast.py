"""``expertloop forecast`` end to end on a real database."""

from __future__ import annotations

import json

from expertloop.storage.db import make_engine, make_sessionmaker
from tests import factories as f
from tests.integration.test_forecast import TIERS, _pilot


def _project(url: str, fitted: bool) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        p, _ = _pilot(s, tiers=TIERS)
        if fitted:
            f.run_jobs(s)
    engine.dispose()
    return p["id"]


def test_forecast_prints_a_row_per_tier_mix_and_json(cli):
    pid = _project(cli.url, fitted=True)
    r = cli("forecast", str(pid), "--target", "accuracy=0.9", "--draws", "20")
    assert r.exit_code == 0, r.output
    assert "14 items left" in r.output
    for mix in ("pilot mix", "generalist only", "specialist only"):
        assert mix in r.output
    r = cli("forecast", str(pid), "--target", "alpha=0.6", "--draws", "20", "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["target"]["kind"] == "alpha" and body["target"]["value"] == 0.6 and len(body["mixes"]) == 3
    assert isinstance(body["mixes"][0]["cost_cents"]["mean"], int)


def test_the_cli_fits_now_when_no_fit_is_stored(cli):
    pid = _project(cli.url, fitted=False)  # no worker has run: the CLI fits, as `expertloop quality` does
    r = cli("forecast", str(pid), "--draws", "20", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["trainers"] == 3


def test_forecast_errors_are_one_line_and_exit_1(cli):
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        pid = f.project(s, "label")["id"]
        f.items(s, pid, "label", 3)
    engine.dispose()
    r = cli("forecast", str(pid))
    assert r.exit_code == 1 and "no consensus" in r.output
    r = cli("forecast", str(pid), "--target", "speed=1")
    assert r.exit_code == 1 and "accuracy or alpha" in r.output
    r = cli("forecast", "0")
    assert r.exit_code != 0
