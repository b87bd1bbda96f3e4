"""The forecast service and API: reads the stored fit, the pilot's seconds and rates; never fits."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from expertloop.config import Settings
from expertloop.domain.errors import Conflict, PermissionDenied, ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services import consensus, uow
from expertloop.services.forecast import project_forecast
from expertloop.storage.orm import Assignment
from tests import factories as f

TIERS = [{"name": "generalist", "requirements": {}, "hourly_rate_usd": "40.00"},
         {"name": "specialist", "requirements": {"min_degree": "phd"}, "hourly_rate_usd": "200.00"}]


def _pilot(session, *, items=20, judged=6, tiers=None, budget_usd=None):
    """Three trainers (two PhDs at $120/h, one BSc at $60/h) judge the first items twice; each
    judgment took 90 active seconds."""
    extra = {"tiers": tiers} if tiers else {}
    if budget_usd:
        extra["budget_usd"] = budget_usd
    p = f.project(session, "label", overlap=2, **extra)
    f.items(session, p["id"], "label", items)
    experts = [f.expert(session), f.expert(session), f.expert(session, degree="bachelor", hourly_rate_usd="60.00")]
    actors = [f.trainer_actor(e) for e in experts]
    answers = {0: "yes", 1: "yes", 2: "no"}
    done = 0
    while done < judged * 2:
        for k, actor in enumerate(actors):
            lease = svc.lease_next(session, actor, p["id"])
            if lease is None or done >= judged * 2:
                continue
            svc.submit(session, actor, lease["assignment_id"], {"label": answers[k]}, Settings())
            done += 1
    uow.run_write(session, lambda: session.execute(update(Assignment).where(
        Assignment.project_id == p["id"]).values(active_seconds=90.0)))
    return p, experts


def test_no_fit_yet_is_a_conflict_that_says_to_wait_for_the_refit_job(session):
    p, _ = _pilot(session)
    with pytest.raises(Conflict, match="refit_consensus job"):
        project_forecast(session, f.ADMIN, p["id"])


def test_forecast_reads_the_stored_fit_and_prices_the_remaining_items(session, monkeypatch):
    p, _ = _pilot(session)
    f.run_jobs(session)

    def no_fit(*_a, **_k):
        raise AssertionError("a forecast must not fit the project")

    monkeypatch.setattr(consensus, "fit_consensus", no_fit)
    r = project_forecast(session, f.ADMIN, p["id"], "accuracy=0.9", draws=20)
    assert r["remaining_items"] == 20 - 6
    assert r["trainers"] == 3 and r["target"] == {"kind": "accuracy", "value": 0.9, "accuracy": 0.9}
    [mix] = r["mixes"]
    assert mix["mix"] == "pilot mix" and mix["trainers"] == 3
    j, cents = mix["judgments"], mix["cost_cents"]
    assert 14 <= j["low"] <= j["mean"] <= j["high"] <= 14 * r["max_judgments"]
    assert all(isinstance(v, int) for v in cents.values())
    # 90 s a judgment at $120, $120 and $60 an hour, drawn in equal shares: $2.50 a judgment
    assert cents["mean"] == pytest.approx(j["mean"] * 250, rel=0.15)
    assert mix["hours"]["mean"] == pytest.approx(j["mean"] * 90 / 3600, abs=0.01)
    assert mix["cost_usd"]["mean"] == f"{cents['mean'] // 100}.{cents['mean'] % 100:02d}"
    again = project_forecast(session, f.ADMIN, p["id"], "accuracy=0.9", draws=20)
    assert again == r  # same seed, same answer


def test_a_higher_target_forecasts_more_and_tiers_get_their_own_rows(session):
    p, _ = _pilot(session, tiers=TIERS, budget_usd="1000.00")
    f.run_jobs(session)
    low = project_forecast(session, f.ADMIN, p["id"], "accuracy=0.7", draws=20)
    high = project_forecast(session, f.ADMIN, p["id"], "accuracy=0.97", draws=20)
    assert low["mixes"][0]["judgments"]["mean"] < high["mixes"][0]["judgments"]["mean"]
    mixes = {m["mix"]: m for m in high["mixes"]}
    assert set(mixes) == {"pilot mix", "generalist only", "specialist only"}
    assert mixes["generalist only"]["trainers"] == 3 and mixes["specialist only"]["trainers"] == 2
    assert high["budget_cents"] == 100_000 and high["budget_left_cents"] == 100_000 - high["spent_cents"]


def test_bad_input_and_trainers_are_refused(session):
    p, experts = _pilot(session)
    f.run_jobs(session)
    with pytest.raises(ValidationFailed, match="between 0 and 1"):
        project_forecast(session, f.ADMIN, p["id"], "accuracy=1.5")
    with pytest.raises(ValidationFailed, match="accuracy or alpha"):
        project_forecast(session, f.ADMIN, p["id"], "speed=0.5")
    with pytest.raises(PermissionDenied):
        project_forecast(session, f.trainer_actor(experts[0]), p["id"])


def test_api_forecast_staff_only_bounded_and_409_before_the_fit(client, session):
    p, experts = _pilot(session)
    admin = f.auth(f.token(session, "admin"))
    url = f"/api/v1/projects/{p['id']}/forecast"
    r = client.get(url, headers=admin)
    assert r.status_code == 409 and "refit_consensus" in r.text
    f.run_jobs(session)
    r = client.get(url, headers=admin, params={"target": "alpha:0.6", "draws": 20})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"]["kind"] == "alpha" and body["target"]["value"] == 0.6
    assert body["mixes"][0]["target_accuracy"] < 1
    trainer = f.auth(f.token(session, "trainer", experts[0]["id"]))
    assert client.get(url, headers=trainer).status_code == 403
    for params in ({"target": "accuracy:2"}, {"target": "x" * 100}, {"target": "accuracy:0.9\x00"},
                   {"draws": 0}, {"draws": 10_000}, {"seed": -1}):
        r = client.get(url, headers=admin, params=params)
        assert r.status_code == 422, (params, r.text)
    assert client.get("/api/v1/projects/999999/forecast", headers=admin).status_code == 404


def test_a_programme_reads_its_pilot_from_the_quality_snapshot(session, monkeypatch):
    """Above LIVE_JUDGMENTS the trainers' counts and mean seconds come from the stored
    scorecards (grouping a million judgments took seconds): the same forecast, said as of when."""
    from expertloop.services import forecast as forecast_svc

    p, _ = _pilot(session)
    f.run_jobs(session)
    live = project_forecast(session, f.ADMIN, p["id"], "accuracy=0.9", draws=20)
    assert live["pilot_as_of"] is None
    monkeypatch.setattr(forecast_svc, "LIVE_JUDGMENTS", 5)
    stored = project_forecast(session, f.ADMIN, p["id"], "accuracy=0.9", draws=20)
    assert stored["pilot_as_of"] is not None
    assert {**stored, "pilot_as_of": None} == live
