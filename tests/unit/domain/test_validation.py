"""Domain rules: experts, projects, items and responses are refused with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from expertloop.domain.assignments import add_active_time
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.experts import Degree, ExpertStatus, parse_expert
from expertloop.domain.items import parse_item
from expertloop.domain.money import parse_usd
from expertloop.domain.payments import billable_minutes, pay_for, worst_case_lease_cost
from expertloop.domain.presentation import make_presentation, trainer_view
from expertloop.domain.projects import Requirements, TaskType, meets_requirements, parse_project
from expertloop.domain.records import ExportFormat, check_compatible, export_records
from expertloop.domain.responses import normalise_gold, parse_response


def locs(exc: ValidationFailed) -> set[str]:
    return {p.loc for p in exc.problems}


def test_expert_parsing_normalises_and_reports_every_field():
    e = parse_expert({"name": " Ada ", "email": "ADA@Example.org", "degree": "PhD", "domains": {"History": 4},
                      "languages": "en;fr", "hourly_rate_usd": "120.5"})
    assert e.email == "ada@example.org" and e.degree == Degree.phd and e.domains == {"history": 4}
    assert e.languages == ("en", "fr") and e.hourly_rate_usd == Decimal("120.50")
    with pytest.raises(ValidationFailed) as exc:
        parse_expert({"name": "", "email": "nope", "domains": {"law": 9}, "hourly_rate_usd": 99.9, "age": 3})
    assert locs(exc.value) == {"name", "email", "domains.law", "hourly_rate_usd", "age"}


def test_money_refuses_floats_negatives_and_fractions_of_cents():
    assert parse_usd("0.10") + parse_usd("0.20") == Decimal("0.30")
    for bad in (0.1, "-1", "1.005", "abc", "NaN"):
        with pytest.raises(ValueError):
            parse_usd(bad)


def test_pay_is_capped_and_rounded_half_up():
    assert billable_minutes(210, 20) == Decimal("3.50")
    assert billable_minutes(10_000, 20) == Decimal("20.00")
    assert pay_for(Decimal("3.33"), Decimal("30.00")) == Decimal("1.67")  # 1.665 → 1.67
    assert worst_case_lease_cost(10, Decimal("60.00")) == Decimal("10.00")


def test_active_time_counts_idle_gaps_only_up_to_the_allowance():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert add_active_time(0, t0, t0 + timedelta(seconds=30), 120) == 30
    assert add_active_time(30, t0, t0 + timedelta(hours=1), 120) == 150
    assert add_active_time(5, t0, t0 - timedelta(seconds=10), 120) == 5  # clock skew never subtracts


def test_project_options_are_checked_per_task_type():
    with pytest.raises(ValidationFailed) as exc:
        parse_project({"name": "x", "task_type": "label", "options": {"labels": ["a"]}})
    assert "options.labels" in locs(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        parse_project({"name": "x", "task_type": "rubric", "options": {"criteria": [{"name": "a", "scale": [5, 1]}]},
                       "overlap": 0, "budget_usd": "-3", "requirements": {"min_degree": "dr"}})
    assert {"options.criteria[0].scale", "overlap", "budget_usd", "requirements.min_degree"} <= locs(exc.value)


def test_requirements_check_degree_domains_languages_licences():
    req = Requirements(domains={"law": 3}, languages=("en",), min_degree=Degree.master, licenses=("jd",))
    ok = dict(degree=Degree.phd, domains={"law": 3}, languages=["en"], licenses=["jd"], status=ExpertStatus.active)
    assert meets_requirements(req, **ok)
    for change in ({"degree": Degree.bachelor}, {"domains": {"law": 2}}, {"languages": ["fr"]}, {"licenses": []},
                   {"status": ExpertStatus.paused}):
        assert not meets_requirements(req, **{**ok, **change})


@pytest.mark.parametrize("record, loc", [
    ({"prompt": "x", "messages": [{"role": "user", "content": "y"}]}, ""),
    ({"messages": [{"role": "robot", "content": "y"}]}, "messages[0].role"),
    ({"prompt": "x", "responses": [{"text": "a"}]}, "responses"),
    ({"prompt": "x", "responses": [{"text": "a"}, {"text": ""}]}, "responses[1].text"),
])
def test_item_shapes_are_checked(record, loc):
    task = TaskType.sft if "responses" not in record else TaskType.preference
    with pytest.raises(ValidationFailed) as exc:
        parse_item(record, task, {})
    assert loc in locs(exc.value)


def test_factcheck_items_need_claims_and_gold_shorthands_normalise():
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"prompt": "p", "response": "r", "claims": []}, TaskType.factcheck, {})
    assert "claims" in locs(exc.value)
    item = parse_item({"prompt": "p", "response": "r", "claims": ["a", "b"], "gold": ["supported", "refuted"]},
                      TaskType.factcheck, {})
    assert [c["verdict"] for c in item.gold["claims"]] == ["supported", "refuted"]
    with pytest.raises(ValidationFailed) as exc:
        normalise_gold("maybe", TaskType.label, {"labels": ["a", "b"]}, {"text": "t"}, "gold")
    assert "gold.label" in locs(exc.value)


def test_responses_name_the_bad_field():
    pay = {"responses": [{"text": "a"}, {"text": "b"}, {"text": "c"}], "claims": ["x"]}
    cases = [
        (TaskType.preference, {"choice": 1, "strength": 4, "criteria": {"tone": 3}}, {"criteria": ["accuracy"]},
         {"response.strength", "response.criteria.tone"}),
        (TaskType.preference, {"choice": True}, {}, {"response.choice"}),
        (TaskType.preference, {"choice": "tie"}, {"allow_ties": False}, {"response.choice"}),
        (TaskType.ranking, {"order": [0, 0, 1]}, {}, {"response.order"}),
        (TaskType.rubric, {"scores": {"accuracy": 9}}, {"criteria": [{"name": "accuracy", "scale": [1, 5]},
                                                                     {"name": "style", "scale": [1, 3]}]},
         {"response.scores.accuracy", "response.scores.style"}),
        (TaskType.label, {"label": "c"}, {"labels": ["a", "b"]}, {"response.label"}),
        (TaskType.sft, {"completion": "ok", "extra": 1}, {}, {"response.extra"}),
        (TaskType.factcheck, {"claims": [{"verdict": "true", "evidence": "url"}]}, {},
         {"response.claims[0].verdict", "response.claims[0].evidence"}),
    ]
    single = {"prompt": "p", "response": "r"}  # a rubric item with "responses" takes one score object per answer
    for task, response, options, expected in cases:
        with pytest.raises(ValidationFailed) as exc:
            parse_response(response, task, options, single if task == TaskType.rubric else pay)
        assert expected <= locs(exc.value), (task, locs(exc.value))
    assert parse_response({"order": [2, 0, 1]}, TaskType.ranking, {}, pay) == {"order": [2, 0, 1]}


def test_presentation_shuffles_and_view_hides_models():
    import random
    payload = {"prompt": "q", "responses": [{"text": "a", "model": "m1"}, {"text": "b", "model": "m2"}]}
    orders = {tuple(make_presentation(TaskType.preference, payload, random.Random(s))["order"]) for s in range(20)}
    assert orders == {(0, 1), (1, 0)}
    view = trainer_view(TaskType.preference, payload, {"order": [1, 0]})
    assert view["responses"] == [{"index": 1, "text": "b"}, {"index": 0, "text": "a"}]
    assert make_presentation(TaskType.label, {"text": "x"}, random.Random(0)) is None


def test_export_compatibility_and_pair_expansion():
    with pytest.raises(ValidationFailed, match="use one of"):
        check_compatible(ExportFormat.sft, TaskType.label)
    payload = {"prompt": "q", "responses": [{"text": t} for t in "abcd"]}
    recs = export_records(TaskType.ranking, ExportFormat.preference, payload, {"order": [3, 1, 0, 2]}, {})
    assert len(recs) == 6 and recs[0]["chosen"][0]["content"] == "d"
    assert export_records(TaskType.preference, ExportFormat.preference, payload, {"choice": "tie"}, {}) == []
