"""Multi-attribute ``rubric`` items (HelpSteer2 style): several answers per item, each scored on
the project's criteria; the regression layout and pairs derived from the scores. Also the
reference scores of ``rubric_authoring`` and the step positions of ``steps`` / ``trajectory``."""

from __future__ import annotations

import pytest

from expertloop.domain.errors import ValidationFailed
from expertloop.domain.items import parse_item
from expertloop.domain.records import export_records, formats_for
from expertloop.domain.responses import parse_response
from expertloop.domain.tasks import ExportFormat, task_type
from expertloop.domain.tasks.rubric import score_pairs
from expertloop.domain.tasks.rubric_authoring import rubric_score

HELPSTEER = {"criteria": [{"name": n, "scale": [0, 4]}
                          for n in ("helpfulness", "correctness", "coherence", "complexity", "verbosity")]}
ITEM = {"prompt": "What is the boiling point of water?",
        "responses": [{"text": "100 °C at sea level.", "model": "a"}, {"text": "50 °C.", "model": "b"},
                      {"text": "It boils at 100 °C.", "model": "c"}]}
S = {"helpfulness": 4, "correctness": 4, "coherence": 4, "complexity": 1, "verbosity": 1}
BAD = {"helpfulness": 0, "correctness": 0, "coherence": 3, "complexity": 1, "verbosity": 1}


def locs(exc) -> list[str]:
    return [p.loc for p in exc.value.problems]


def test_an_item_holds_one_answer_or_several():
    assert parse_item(ITEM, "rubric", HELPSTEER).payload == ITEM
    assert parse_item({"prompt": "p", "response": "r"}, "rubric", HELPSTEER).payload == {"prompt": "p", "response": "r"}
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"prompt": "p", "response": "r", "responses": ITEM["responses"]}, "rubric", HELPSTEER, "line 3")
    assert locs(exc) == ["line 3"]
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"prompt": "p", "responses": [{"text": "x"}, {"txt": "y"}]}, "rubric", HELPSTEER, "line 4")
    assert locs(exc) == ["line 4.responses[1].text", "line 4.responses[1].txt"]


def test_several_answers_take_one_score_object_each_located_by_answer():
    out = parse_response({"scores": [S, BAD, S], "comment": "b is wrong"}, "rubric", HELPSTEER, ITEM)
    assert out == {"scores": [S, BAD, S], "comment": "b is wrong"}
    assert task_type("rubric").score_units(out) == [S, BAD, S]
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"scores": [S, {**BAD, "verbosity": 7}, {"helpfulness": 1}]}, "rubric", HELPSTEER, ITEM)
    assert locs(exc)[0] == "response.scores[1].verbosity" and "response.scores[2].correctness" in locs(exc)
    with pytest.raises(ValidationFailed, match=r"list of 3 objects"):
        parse_response({"scores": S}, "rubric", HELPSTEER, ITEM)
    with pytest.raises(ValidationFailed, match=r"of 2"):
        parse_response({"scores": [S, S]}, "rubric", HELPSTEER, ITEM)
    # one answer: the shape is unchanged
    single = {"prompt": "p", "response": "r"}
    assert parse_response({"scores": S}, "rubric", HELPSTEER, single) == {"scores": S, "comment": None}
    assert task_type("rubric").score_units({"scores": S}) == [S]
    with pytest.raises(ValidationFailed, match="must be an object"):
        parse_response({"scores": [S]}, "rubric", HELPSTEER, single)


def test_regression_records_one_per_answer_and_pairs_from_the_scores():
    assert formats_for("rubric") == [ExportFormat.preference, ExportFormat.rubric, ExportFormat.raw]
    response = parse_response({"scores": [S, BAD, S]}, "rubric", HELPSTEER, ITEM)
    rows = export_records("rubric", ExportFormat.rubric, ITEM, response, {"item": "i"})
    assert [(r["response"], r["scores"], r["metadata"]["response_index"], r["metadata"]["model"]) for r in rows] == [
        ("100 °C at sea level.", S, 0, "a"), ("50 °C.", BAD, 1, "b"), ("It boils at 100 °C.", S, 2, "c")]
    assert set(rows[0]) == {"prompt", "response", "scores", "comment", "metadata"}
    pairs = export_records("rubric", ExportFormat.preference, ITEM, response, {"item": "i"})
    # 0 and 2 tie (same mean): never a pair; each beats 1 by (2.8 - 1.0)
    assert [(p["chosen"][0]["content"], p["rejected"][0]["content"], p["margin"]) for p in pairs] == [
        ("100 °C at sea level.", "50 °C.", 1.8), ("It boils at 100 °C.", "50 °C.", 1.8)]
    assert pairs[0]["prompt"] == [{"role": "user", "content": ITEM["prompt"]}]
    assert pairs[0]["metadata"]["chosen_score"] == 2.8 and pairs[0]["metadata"]["rejected_scores"] == BAD
    assert pairs[1]["metadata"]["chosen_index"] == 2 and pairs[1]["metadata"]["rejected_index"] == 1
    spec = task_type("rubric")
    assert spec.left_out_reason(ExportFormat.preference, {"scores": [S, S, S]}) == "tie"
    assert spec.left_out_reason(ExportFormat.preference, {"scores": S}) == "one answer"
    assert spec.left_out_reason(ExportFormat.preference, response) is None
    assert score_pairs([{"a": 1}, {"a": 3}]) == [(1, 0, 3.0, 1.0)]
    # the single-answer record is unchanged
    single = {"prompt": "p", "response": "r"}
    assert export_records("rubric", ExportFormat.rubric, single, {"scores": S, "comment": None}, {"m": 1}) == [
        {"prompt": "p", "response": "r", "scores": S, "comment": None, "metadata": {"m": 1}}]


def test_the_form_names_each_answers_scales_by_its_imported_index():
    class Form(dict):
        def getlist(self, key):
            return [self[key]] if key in self else []

    view = task_type("rubric").trainer_view(ITEM, None)
    assert [r["index"] for r in view["responses"]] == [0, 1, 2] and "model" not in view["responses"][0]
    form = Form({**{f"score:{i}:{k}": str(v) for i, s in enumerate([S, BAD, S]) for k, v in s.items()},
                 "comment": " ok "})
    assert task_type("rubric").response_from_form(form, HELPSTEER, view) == {"scores": [S, BAD, S], "comment": "ok"}
    form = Form({"score:helpfulness": "3"})
    assert task_type("rubric").response_from_form(form, HELPSTEER, {"prompt": "p", "response": "r"}) == {
        "scores": {"helpfulness": 3}}


AUTHORING_ITEM = {"prompt": "Is tap water safe?", "references": ["It depends on where you live.", "Never."]}


def test_authors_mark_which_references_meet_each_criterion_and_the_rubric_scores_them():
    response = parse_response({"criteria": [
        {"criterion": "Says it depends on the location", "category": "essential", "meets": [0]},
        {"criterion": "Names a way to check", "category": "optional"},
        {"criterion": "Claims it is unsafe everywhere", "category": "pitfall", "meets": [1, 1]}]},
        "rubric_authoring", {"min_criteria": 2}, AUTHORING_ITEM)
    assert response["criteria"][0]["meets"] == [0] and "meets" not in response["criteria"][1]
    assert response["criteria"][2]["meets"] == [1]
    # positive weight 5 + 1 = 6: reference 0 meets 5 of it; reference 1 meets nothing and a pitfall (-2)
    assert rubric_score(response["criteria"], 0) == round(5 / 6, 4)
    assert rubric_score(response["criteria"], 1) == round(-2 / 6, 4)
    spec = task_type("rubric_authoring")
    assert spec.candidate_scores(AUTHORING_ITEM, response) == [round(5 / 6, 4), round(-2 / 6, 4)]
    unmarked = parse_response({"criteria": [{"criterion": "a", "category": "essential"},
                                            {"criterion": "b", "category": "optional"}]},
                              "rubric_authoring", {"min_criteria": 2}, AUTHORING_ITEM)
    assert spec.candidate_scores(AUTHORING_ITEM, unmarked) == []  # not judged: no scores
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"criteria": [{"criterion": "a", "category": "essential", "meets": [2, True]},
                                     {"criterion": "b", "category": "optional", "meets": "0"}]},
                       "rubric_authoring", {"min_criteria": 2}, AUTHORING_ITEM)
    assert locs(exc) == ["response.criteria[0].meets[0]", "response.criteria[0].meets[1]",
                         "response.criteria[1].meets"]
    with pytest.raises(ValidationFailed, match="needs reference answers"):
        parse_response({"criteria": [{"criterion": "a", "category": "essential", "meets": [0]},
                                     {"criterion": "b", "category": "optional"}]},
                       "rubric_authoring", {"min_criteria": 2}, {"prompt": "p"})

    class Form(dict):
        def getlist(self, key):
            v = self.get(key)
            return v if isinstance(v, list) else ([v] if v is not None else [])

    form = Form({"criterion-0": "a", "category-0": "essential", "meets-0": ["0", "1"],
                 "criterion-1": "b", "category-1": "pitfall"})
    assert spec.response_from_form(form, {}, AUTHORING_ITEM)["criteria"] == [
        {"criterion": "a", "category": "essential", "checkable": False, "meets": [0, 1]},
        {"criterion": "b", "category": "pitfall", "checkable": False}]


def test_step_positions_of_steps_and_trajectories():
    assert task_type("steps").step_of_part({"steps": ["a", "b"]}, 1) == 1
    trace = {"task": "t", "steps": [{"kind": "thought", "text": "x"}, {"kind": "message", "role": "assistant",
                                                                      "text": "y"}]}
    assert task_type("trajectory").step_of_part(trace, 1) == 1
    assert task_type("trajectory").step_of_part(trace, 2) is None  # the verdict
    assert task_type("label").step_of_part({"text": "x"}, 0) is None
