"""``steps``: process-reward labels per step, exported in TRL's stepwise-supervision layout."""

from __future__ import annotations

import pytest

from expertloop.domain.checks import Checker
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.grading import categorical_answers, gold_score, gold_tally
from expertloop.domain.items import parse_item
from expertloop.domain.projects import check_options
from expertloop.domain.records import consensus_records, export_records, formats_for
from expertloop.domain.responses import parse_response
from expertloop.domain.tasks import ExportFormat, ItemConsensus, PartConsensus, task_type

ITEM = {"problem": "What is 2 + 3 * 4?", "steps": ["3 * 4 = 12.", "2 + 12 = 15.", "The answer is 15."]}
STOP = {"stop_at_first_negative": True}
ALL = {"stop_at_first_negative": False}


def locs(exc) -> list[str]:
    return [p.loc for p in exc.value.problems]


def test_items_need_a_problem_and_non_empty_steps_named_by_location():
    item = parse_item({"external_id": "s1", **ITEM, "gold": [1, -1]}, "steps", STOP)
    assert item.payload == ITEM
    assert item.gold == {"ratings": [1, -1, None], "correction": None}  # shorthand, padded after the -1
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"problem": "", "steps": ["ok", " "], "solution": "x"}, "steps", STOP, "line 3")
    assert locs(exc) == ["line 3.problem", "line 3.steps[1]", "line 3.solution"]
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"problem": "p", "steps": []}, "steps", STOP, "line 4")
    assert locs(exc) == ["line 4.steps"]
    with pytest.raises(ValidationFailed) as exc:  # gold is checked like a response
        parse_item({**ITEM, "gold": [1, 2, 1]}, "steps", STOP, "line 5")
    assert locs(exc) == ["line 5.gold.ratings[1]"]


def test_options_default_to_stopping_at_the_first_wrong_step():
    c = Checker()
    assert check_options(c, "steps", {}) == STOP and not c.problems
    check_options(c, "steps", {"stop_at_first_negative": "yes", "split": "auto"})
    assert [p.loc for p in c.problems] == ["options.stop_at_first_negative", "options.split"]


def test_rating_may_stop_at_the_first_negative_unless_the_project_rates_every_step():
    assert parse_response({"ratings": [1, -1]}, "steps", STOP, ITEM) == {"ratings": [1, -1, None], "correction": None}
    assert parse_response({"ratings": [1, -1, None], "correction": " 2 + 12 = 14. "}, "steps", STOP, ITEM) == {
        "ratings": [1, -1, None], "correction": "2 + 12 = 14."}
    with pytest.raises(ValidationFailed) as exc:  # no -1: every step is needed
        parse_response({"ratings": [1, 0]}, "steps", STOP, ITEM)
    assert "expected 3, got 2" in str(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"ratings": [1, -1, None]}, "steps", ALL, ITEM)
    assert locs(exc) == ["response.ratings[2]"] and "rates every step" in str(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"ratings": [None, 5, True], "correction": "x", "extra": 1}, "steps", STOP, ITEM)
    assert locs(exc) == ["response.extra", "response.ratings[1]", "response.ratings[2]", "response.ratings[0]",
                         "response.correction"]
    with pytest.raises(ValidationFailed, match="one rating per step"):
        parse_response({"ratings": [1, 1, 1, 1]}, "steps", STOP, ITEM)
    with pytest.raises(ValidationFailed, match="must be a list"):
        parse_response({"ratings": "1,1,1"}, "steps", STOP, ITEM)


def test_stepwise_records_follow_trl_and_cut_after_the_first_wrong_step():
    assert formats_for("steps") == [ExportFormat.sft, ExportFormat.stepwise, ExportFormat.raw]
    response = parse_response({"ratings": [0, -1], "correction": "2 + 12 = 14."}, "steps", STOP, ITEM)
    [record] = export_records("steps", ExportFormat.stepwise, ITEM, response, {"item": "s1"})
    assert record["prompt"] == "What is 2 + 3 * 4?"
    assert record["completions"] == ["3 * 4 = 12.", "2 + 12 = 15."]
    assert record["labels"] == [True, False]  # 0 is acceptable (PRM800K), -1 is not
    assert record["metadata"]["ratings"] == [0, -1, None] and record["metadata"]["first_negative"] == 1
    all_good = parse_response({"ratings": [1, 0, 1]}, "steps", STOP, ITEM)
    [record] = export_records("steps", ExportFormat.stepwise, ITEM, all_good, {})
    assert record["labels"] == [True, True, True] and len(record["completions"]) == 3
    # the corrected step: the steps before it, then the correction
    [sft] = export_records("steps", ExportFormat.sft, ITEM, response, {"item": "s1"})
    assert sft["messages"] == [{"role": "user", "content": "What is 2 + 3 * 4?"},
                               {"role": "assistant", "content": "3 * 4 = 12.\n2 + 12 = 14."}]
    assert sft["metadata"]["corrected_step"] == 1
    assert export_records("steps", ExportFormat.sft, ITEM, all_good, {}) == []
    assert task_type("steps").left_out_reason(ExportFormat.sft, all_good) == "no correction"


def test_each_step_is_a_categorical_part_and_gold_earns_partial_credit():
    response = {"ratings": [1, 1, -1], "correction": None}
    gold = {"ratings": [1, -1, None], "correction": None}
    assert categorical_answers("steps", {"ratings": [1, -1, None]}) == [(0, "1"), (1, "-1")]
    assert gold_score("steps", response, gold) == pytest.approx(1 / 2)  # the unrated gold step is not scored
    assert gold_tally("steps", [(response, gold), (gold, gold)]) == (2, 1.5)


def test_consensus_records_label_each_step_by_its_consensus():
    responses = [{"ratings": [1, -1, None]}, {"ratings": [1, 0, 1]}, {"ratings": [1, -1, None]}]
    cons = ItemConsensus(responses, [PartConsensus("1", 0.99, {"1": 3}), PartConsensus("-1", 0.8, {"-1": 2, "0": 1}),
                                     PartConsensus("1", 0.6, {"1": 1})])
    [record] = consensus_records("steps", ExportFormat.stepwise, ITEM, STOP, cons, {"item": "s1"})
    assert record["labels"] == [True, False] and record["completions"] == ITEM["steps"][:2]
    assert record["metadata"]["steps"][1]["distribution"] == {"1": 0.0, "0": 0.3333, "-1": 0.6667}
    assert record["metadata"]["judgments"] == 3 and record["metadata"]["confidence"] == 0.6


def test_the_form_gives_one_rating_per_step():
    class Form(dict):
        def getlist(self, key):
            return [self[key]] if key in self else []

    spec = task_type("steps")
    assert spec.response_from_form(Form({"rating-0": "1", "rating-1": "-1", "correction": "x\r\ny"}), STOP, ITEM) == {
        "ratings": [1, -1, None], "correction": "x\ny"}
    assert spec.exam_answer_from_form(Form({"q1:rating-0": "0"}), "q1:", ITEM) == {"ratings": [0, None, None]}
    assert spec.exam_answer_from_form(Form({}), "q1:", ITEM) is None
    assert spec.options_from_form(Form({"stop_at_first_negative": "on"}), []) == STOP
    assert spec.options_from_form(Form({}), []) == ALL  # an unticked box


def test_a_qualification_exam_can_ask_for_step_ratings():
    from expertloop.domain.exams import parse_exam, score_attempt

    exam = parse_exam({"name": "Step checking", "domain": "math", "level": 2, "task_type": "steps",
                       "questions": [{**ITEM, "gold": [1, -1]}, {**ITEM, "gold": [1, 1, 1]}]}, check_options)
    assert exam.options == STOP and [q.gold["ratings"] for q in exam.questions] == [[1, -1, None], [1, 1, 1]]
    golds = [q.gold for q in exam.questions]
    answers = [{"ratings": [1, -1, None]}, {"ratings": [1, 1, -1]}]
    assert score_attempt("steps", answers, golds) == pytest.approx((1 + 2 / 3) / 2)


def test_a_step_nobody_rated_keeps_every_later_step_in_its_place():
    # three judgments rate steps 1 and 3 and leave step 2 unrated: the consensus of step 3 must
    # stay step 3's (it used to slide into step 2's place)
    responses = [{"ratings": [-1, None, 1]}, {"ratings": [-1, None, 1]}, {"ratings": [-1, None, 0]}]
    cons = ItemConsensus(responses, [PartConsensus("-1", 0.9, {"-1": 3}, part=0),
                                     PartConsensus("1", 0.7, {"1": 2, "0": 1}, part=2)])
    [record] = consensus_records("steps", ExportFormat.stepwise, ITEM, STOP, cons, {"item": "s1"})
    assert record["metadata"]["ratings"] == [-1, None, 1]
    assert record["labels"] == [False]
    assert [s["step"] for s in record["metadata"]["steps"]] == [0]
