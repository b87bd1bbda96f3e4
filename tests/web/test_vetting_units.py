"""Form parsing and flag wording behind the vetting and quality pages, without a browser."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from expertloop.domain.errors import ValidationFailed
from expertloop.domain.projects import TaskType, parse_project
from expertloop.web.forms import exam_answers_from_form, project_from_form
from expertloop.web.oversight import describe_flag

BASE = [("name", "Pairs"), ("task_type", "preference"), ("overlap", "1"), ("preference_criteria", "accuracy")]


def test_the_project_form_sets_adaptive_overlap_and_a_quality_floor():
    form = FormData([*BASE, ("overlap_min", "2"), ("overlap_max", "5"), ("overlap_target_confidence", "0.95"),
                     ("quality_floor_gold_accuracy", "70%"), ("quality_floor_min_gold", "8")])
    data = project_from_form(form)
    assert data["overlap"] == {"min": 2, "max": 5, "target_confidence": 0.95}
    assert data["quality_floor"] == {"gold_accuracy": 0.7, "min_gold": 8}
    spec = parse_project(data)
    assert spec.adaptive_overlap.max == 5 and spec.starting_overlap == 2 and spec.quality_floor.min_gold == 8


def test_the_project_form_sets_a_reliability_floor_alone():
    form = FormData([*BASE, ("quality_floor_reliability", "0.6"), ("quality_floor_min_judgments", "30")])
    data = project_from_form(form)
    assert data["quality_floor"] == {"reliability": 0.6, "min_judgments": 30}
    floor = parse_project(data).quality_floor
    assert floor.gold_accuracy is None and floor.reliability == 0.6 and floor.min_judgments == 30


def test_the_project_form_leaves_routing_out_when_blank_and_names_bad_fields():
    data = project_from_form(FormData([*BASE, ("overlap_min", ""), ("quality_floor_gold_accuracy", "")]))
    assert data["overlap"] == 1 and "quality_floor" not in data
    with pytest.raises(ValidationFailed) as exc:
        project_from_form(FormData([*BASE, ("quality_floor_min_gold", "5")]))
    assert exc.value.problems[0].loc == "quality_floor.gold_accuracy"
    with pytest.raises(ValidationFailed) as exc:
        project_from_form(FormData([*BASE, ("quality_floor_min_judgments", "30")]))
    assert exc.value.problems[0].loc == "quality_floor.reliability"
    with pytest.raises(ValidationFailed) as exc:      # a maximum is needed: the domain says where
        parse_project(project_from_form(FormData([*BASE, ("overlap_min", "2")])))
    assert any(p.loc == "overlap.max" for p in exc.value.problems)


def test_exam_answers_from_the_form_per_task_type():
    label = exam_answers_from_form(FormData([("q1:label", "true"), ("q2:label", "")]), TaskType.label,
                                   [{"question_id": 1, "text": "a"}, {"question_id": 2, "text": "b"}])
    assert label == {"1": {"label": "true"}}             # a blank question is left out (scores zero)
    pref = exam_answers_from_form(FormData([("q3:choice", "1"), ("q4:choice", "tie")]), TaskType.preference,
                                  [{"question_id": 3}, {"question_id": 4}])
    assert pref == {"3": {"choice": 1}, "4": {"choice": "tie"}}
    fact = exam_answers_from_form(FormData([("q5:verdict-0", "refuted"), ("q5:verdict-1", "supported")]),
                                  TaskType.factcheck, [{"question_id": 5, "claims": ["x", "y"]}])
    assert fact == {"5": {"claims": [{"verdict": "refuted"}, {"verdict": "supported"}]}}
    responses = [{"index": 2}, {"index": 0}, {"index": 1}]
    ranked = exam_answers_from_form(FormData([("q6:rank-2", "2"), ("q6:rank-0", "3"), ("q6:rank-1", "1")]),
                                    TaskType.ranking, [{"question_id": 6, "responses": responses}])
    assert ranked == {"6": {"order": [1, 2, 0]}}
    bad = exam_answers_from_form(FormData([("q6:rank-2", "1"), ("q6:rank-0", "1"), ("q6:rank-1", "")]),
                                 TaskType.ranking, [{"question_id": 6, "responses": responses}])
    assert bad == {"6": {"order": [1, 1, None]}}          # not a ranking: left for the domain to refuse


@pytest.mark.parametrize("flag, label, words", [
    ({"kind": "too_fast", "n": 20, "fast_share": 0.45, "median_seconds": 12.0}, "Too fast", "45% of 20 submissions"),
    ({"kind": "position_bias", "n": 30, "share_first": 0.9, "p_value": 0.0001}, "Position bias", "p = < 0.001"),
    ({"kind": "length_bias", "n": 25, "share_longer": 0.8, "consensus_share": 0.5, "p_value": 0.004},
     "Length bias", "80% of 25 pairs, against 50%"),
    ({"kind": "label_skew", "n": 40, "tvd": 0.31, "p_value": 0.002}, "Label skew", "total variation distance 0.31"),
    ({"kind": "straight_lining", "n": 40, "longest_run": 17, "entropy": 0.2}, "Straight-lining", "17 times in a row"),
    ({"kind": "leniency:accuracy", "n": 12, "offset": 0.8, "p_value": 0.003}, "Lenient on accuracy", "+0.80 points"),
    ({"kind": "leniency:style", "n": 12, "offset": -1.1, "p_value": 0.003}, "Harsh on style", "-1.10 points"),
    ({"kind": "something_new", "n": 3}, "Something new", "n = 3"),
])
def test_bias_flags_read_as_words(flag, label, words):
    out = describe_flag(flag)
    assert out["label"] == label and words in out["evidence"]
