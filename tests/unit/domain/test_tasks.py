"""The task-type seam: the registry, a type added from a test alone, and gold scored per claim."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import expertloop
from expertloop.domain.checks import Checker, join
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.exams import score_attempt
from expertloop.domain.grading import categorical_answers, gold_score, gold_tally
from expertloop.domain.items import parse_item
from expertloop.domain.presentation import make_presentation, trainer_view
from expertloop.domain.projects import TaskType
from expertloop.domain.records import check_compatible, export_records, formats_for
from expertloop.domain.responses import parse_response
from expertloop.domain.tasks import TASK_TYPES, ExportFormat, TaskTypeSpec, task_type

TEMPLATES = Path(expertloop.__file__).parent / "web" / "templates"


def test_every_task_type_is_registered_with_its_template():
    assert set(TASK_TYPES) == set(TaskType)
    for t, spec in TASK_TYPES.items():
        assert spec.name == t and task_type(t.value) is spec
        assert (TEMPLATES / spec.template).is_file(), spec.template
        assert set(spec.consensus_formats) <= set(spec.formats)
        assert spec.has_consensus == bool(spec.consensus_formats)
    with pytest.raises(ValidationFailed, match="must be one of"):
        task_type("essay")


class Spelling(TaskTypeSpec):
    """A toy type: the trainer corrects the spelling of a sentence."""

    name = "spelling"
    formats = (ExportFormat.sft,)

    def check_payload(self, c: Checker, payload: dict, loc: str) -> None:
        c.text(payload, "sentence", loc)
        c.no_unknown(payload, ("sentence",), loc)

    def check_response(self, c: Checker, obj: dict, options: dict, payload: dict, loc: str) -> dict:
        c.no_unknown(obj, ("corrected",), loc)
        corrected = c.text(obj, "corrected", loc)
        if corrected is not None and corrected == payload["sentence"]:
            c.fail(join(loc, "corrected"), "is unchanged")
        return {"corrected": corrected}

    def response_from_form(self, form, options: dict, item: dict) -> dict:
        return {"corrected": form.get("corrected")}

    def records(self, fmt: ExportFormat, payload: dict, response: dict, metadata: dict) -> list[dict]:
        return [{"messages": [{"role": "user", "content": f"Fix the spelling: {payload['sentence']}"},
                              {"role": "assistant", "content": response["corrected"]}], "metadata": metadata}]


def test_a_new_task_type_is_one_class_in_the_registry(monkeypatch):
    monkeypatch.setitem(TASK_TYPES, "spelling", Spelling())
    item = parse_item({"external_id": "s1", "sentence": "Teh cat"}, "spelling", {})
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"sentence": "x", "extra": 1}, "spelling", {}, "items[0]")
    assert [p.loc for p in exc.value.problems] == ["items[0].extra"]
    response = parse_response({"corrected": "The cat"}, "spelling", {}, item.payload)
    with pytest.raises(ValidationFailed, match="unchanged"):
        parse_response({"corrected": "Teh cat"}, "spelling", {}, item.payload)
    check_compatible(ExportFormat.sft, "spelling")
    with pytest.raises(ValidationFailed, match="use one of: raw, sft"):
        check_compatible(ExportFormat.label, "spelling")
    assert formats_for("spelling") == [ExportFormat.sft, ExportFormat.raw]
    [record] = export_records("spelling", ExportFormat.sft, item.payload, response, {"item": "s1"})
    assert record["messages"][1] == {"role": "assistant", "content": "The cat"}
    # the defaults: shown as imported, no gold comparison, no categorical answers
    assert make_presentation("spelling", item.payload, random.Random(0)) is None
    assert trainer_view("spelling", item.payload, None) == {"sentence": "Teh cat"}
    assert gold_score("spelling", response, response) is None and categorical_answers("spelling", response) == []
    assert task_type("spelling").template == "tasks/_spelling.html"


def test_factcheck_gold_is_scored_per_claim():
    gold = {"claims": [{"verdict": "supported"}, {"verdict": "refuted"}, {"verdict": "refuted"}]}
    two_of_three = {"claims": [{"verdict": "supported"}, {"verdict": "refuted"}, {"verdict": "supported"}]}
    assert gold_score(TaskType.factcheck, two_of_three, gold) == pytest.approx(2 / 3)
    # partial credit per task: n counts tasks (a Wilson interval's trials), not claims
    assert gold_tally(TaskType.factcheck, [(two_of_three, gold)]) == (1, 0.6667)
    assert gold_tally(TaskType.factcheck, [(two_of_three, gold), (gold, gold)]) == (2, 1.6667)
    assert gold_tally(TaskType.label, [({"label": "a"}, {"label": "a"}), ({"label": "b"}, {"label": "a"})]) == (2, 1)
    assert gold_tally(TaskType.factcheck, []) == (0, 0)
    assert score_attempt(TaskType.factcheck, [two_of_three, None], [gold, gold]) == pytest.approx(1 / 3)


def test_form_fields_become_responses_per_type():
    class Form(dict):
        def getlist(self, key):
            value = self.get(key)
            return value if isinstance(value, list) else [] if value is None else [value]

    item = {"claims": ["a", "b"]}
    assert task_type("factcheck").response_from_form(
        Form({"verdict-0": "supported", "evidence-0": "u1\r\nu2", "verdict-1": ""}), {}, item) == {
        "claims": [{"verdict": "supported", "evidence": ["u1", "u2"], "correction": None},
                   {"verdict": None, "evidence": [], "correction": None}]}
    assert task_type("preference").response_from_form(
        Form({"choice": "tie", "strength": "2", "criterion:accuracy": "5"}), {"criteria": ["accuracy"]}, {}) == {
        "choice": "tie", "strength": 2, "criteria": {"accuracy": 5}}
    assert task_type("ranking").response_from_form(Form({"order": ["2", "0", "1"]}), {}, {}) == {"order": [2, 0, 1]}
    assert task_type("ranking").exam_answer_from_form(
        Form({"q1:rank-0": "2", "q1:rank-1": "1"}), "q1:", {"responses": [{"index": 0}, {"index": 1}]}) == {
        "order": [1, 0]}


def test_a_consensus_nobody_gave_is_never_exported():
    from expertloop.domain.tasks import ItemConsensus, PartConsensus

    pref = task_type("preference")
    only_a_tie = ItemConsensus([{"choice": "tie"}], [PartConsensus("0", 0.9, {"tie": 1})])
    assert pref.consensus_left_out_reason(ExportFormat.preference, only_a_tie) == "tie"
    backed = ItemConsensus([{"choice": 0}, {"choice": "tie"}], [PartConsensus("0", 0.7, {"0": 1, "tie": 1})])
    assert pref.consensus_left_out_reason(ExportFormat.preference, backed) is None
    unsupported = ItemConsensus([{"claims": [{"verdict": "supported"}]}, {"claims": [{"verdict": "refuted"}]}],
                                [PartConsensus("not_enough_info", 0.98, {"supported": 1, "refuted": 1})])
    assert task_type("factcheck").consensus_left_out_reason(ExportFormat.factcheck, unsupported) == "no consensus"
