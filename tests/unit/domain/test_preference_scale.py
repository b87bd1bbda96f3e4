"""A signed preference scale (HelpSteer3 style): one score instead of choice and strength."""

from __future__ import annotations

import pytest

from expertloop.domain.checks import Checker
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.grading import categorical_answers, gold_score
from expertloop.domain.items import parse_item
from expertloop.domain.projects import check_options
from expertloop.domain.records import consensus_records, export_records
from expertloop.domain.responses import parse_response
from expertloop.domain.tasks import ExportFormat, ItemConsensus, PartConsensus, task_type

SCALE = {"criteria": [], "scale": [-3, 3]}
ITEM = {"prompt": "Is tap water safe?",
        "responses": [{"text": "It depends", "model": "a"}, {"text": "No", "model": "b"}]}


def test_the_scale_option_is_checked():
    c = Checker()
    assert check_options(c, "preference", {"scale": [-3, 3]}) == SCALE and not c.problems
    for bad in ([0, 3], [-3], [-3.0, 3], [3, -3], "3"):
        check_options(c, "preference", {"scale": bad})
    assert [p.loc for p in c.problems] == ["options.scale"] * 5


def test_a_negative_score_prefers_response_0_and_zero_is_a_tie():
    assert parse_response({"score": -2, "rationale": "safer"}, "preference", SCALE, ITEM) == {
        "score": -2, "choice": 0, "rationale": "safer"}
    assert parse_response({"score": 3}, "preference", SCALE, ITEM)["choice"] == 1
    assert parse_response({"score": 0}, "preference", SCALE, ITEM)["choice"] == "tie"
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"score": 4, "strength": 2}, "preference", SCALE, ITEM)
    assert [p.loc for p in exc.value.problems] == ["response.strength", "response.score"]
    with pytest.raises(ValidationFailed, match="agree with the score"):
        parse_response({"score": -1, "choice": 1}, "preference", SCALE, ITEM)
    with pytest.raises(ValidationFailed, match="no ties"):
        parse_response({"score": 0}, "preference", {**SCALE, "allow_ties": False}, ITEM)
    with pytest.raises(ValidationFailed, match=r"response\.score: is required"):
        parse_response({"choice": 0}, "preference", SCALE, ITEM)
    # criteria scores never leak into the signed score
    assert parse_response({"score": -1, "criteria": {"accuracy": 5}}, "preference", {**SCALE, "criteria": ["accuracy"]},
                          ITEM) == {"score": -1, "choice": 0, "criteria": {"accuracy": 5}}
    assert parse_response({"choice": 0, "strength": 2, "criteria": {"accuracy": 5}}, "preference",
                          {"criteria": ["accuracy"]}, ITEM) == {"choice": 0, "strength": 2, "criteria": {"accuracy": 5}}
    # without a scale nothing changes: a score is refused, choice and strength work
    with pytest.raises(ValidationFailed, match="unknown field"):
        parse_response({"choice": 0, "score": -2}, "preference", {"criteria": []}, ITEM)


def test_the_margin_is_the_absolute_score_and_ties_are_left_out():
    response = parse_response({"score": -2}, "preference", SCALE, ITEM)
    [pair] = export_records("preference", ExportFormat.preference, ITEM, response, {})
    assert pair["chosen"][0]["content"] == "It depends" and pair["margin"] == 2.0
    assert pair["metadata"]["score"] == -2
    [pair] = export_records("preference", ExportFormat.preference, ITEM, {"score": 1, "choice": 1}, {})
    assert pair["chosen"][0]["content"] == "No" and pair["margin"] == 1.0
    tie = parse_response({"score": 0}, "preference", SCALE, ITEM)
    assert export_records("preference", ExportFormat.preference, ITEM, tie, {}) == []
    assert task_type("preference").left_out_reason(ExportFormat.preference, tie) == "tie"
    assert categorical_answers("preference", response) == [(0, "0")]
    gold = parse_item({**ITEM, "gold": {"score": -3}}, "preference", SCALE).gold
    assert gold_score("preference", response, gold) == 1.0
    cons = ItemConsensus([{"score": -3, "choice": 0}, {"score": -1, "choice": 0}, {"score": 2, "choice": 1}],
                         [PartConsensus("0", 0.8, {"0": 2, "1": 1})])
    [record] = consensus_records("preference", ExportFormat.preference, ITEM, SCALE, cons, {})
    assert record["margin"] == 2.0 and record["metadata"]["mean_abs_score"] == 2.0


def test_the_form_score_is_relative_to_the_answers_as_shown():
    class Form(dict):
        def getlist(self, key):
            return [self[key]] if key in self else []

    spec = task_type("preference")
    shown_in_order = {"responses": [{"index": 0}, {"index": 1}]}
    swapped = {"responses": [{"index": 1}, {"index": 0}]}
    assert spec.response_from_form(Form({"score": "-2"}), SCALE, shown_in_order) == {"score": -2}
    assert spec.response_from_form(Form({"score": "-2", "rationale": "A"}), SCALE, swapped) == {
        "score": 2, "rationale": "A"}
    assert spec.options_from_form(Form({"preference_scale": "3"}), []) == {
        "criteria": [], "allow_ties": False, "scale": [-3, 3]}
    problems: list = []
    spec.options_from_form(Form({"preference_scale": "big"}), problems)
    assert [p.loc for p in problems] == ["preference_scale"]
