"""``rubric_authoring``: experts write instance-specific rubrics, exported as ``rubrics``."""

from __future__ import annotations

import pytest

from expertloop.domain.checks import Checker
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.items import parse_item
from expertloop.domain.projects import check_options
from expertloop.domain.records import export_records, formats_for
from expertloop.domain.responses import parse_response
from expertloop.domain.tasks import ExportFormat, task_type

ITEM = {"prompt": "Is tap water safe to drink?", "references": ["It depends on your location."]}
OPTIONS = {"min_criteria": 2}
GOOD = {"criteria": [{"criterion": "Says that it depends on the location", "category": "essential"},
                     {"criterion": "Names a way to check local water quality", "category": "optional",
                      "checkable": False},
                     {"criterion": "Claims tap water is unsafe everywhere", "category": "pitfall", "weight": -5}]}


def locs(exc) -> list[str]:
    return [p.loc for p in exc.value.problems]


def test_items_are_a_prompt_with_optional_references():
    assert parse_item(ITEM, "rubric_authoring", OPTIONS).payload == ITEM
    assert parse_item({"prompt": "p"}, "rubric_authoring", OPTIONS).payload == {"prompt": "p"}
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"prompt": " ", "references": ["ok", ""], "answer": "x"}, "rubric_authoring", OPTIONS, "line 4")
    assert locs(exc) == ["line 4.prompt", "line 4.references[1]", "line 4.answer"]


def test_options_set_the_least_number_of_criteria():
    c = Checker()
    assert check_options(c, "rubric_authoring", {}) == {"min_criteria": 3} and not c.problems
    check_options(c, "rubric_authoring", {"min_criteria": 0, "max": 3})
    assert [p.loc for p in c.problems] == ["options.min_criteria", "options.max"]


def test_criteria_get_default_weights_and_bad_ones_are_located():
    out = parse_response(GOOD, "rubric_authoring", OPTIONS, ITEM)
    assert [(c["category"], c["weight"], c["checkable"]) for c in out["criteria"]] == [
        ("essential", 5, True), ("optional", 1, False), ("pitfall", -5, True)]
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"criteria": [{"criterion": "Says it depends", "category": "vital"},
                                     {"criterion": "says  IT depends", "category": "important", "weight": -1},
                                     {"criterion": "", "category": "pitfall", "weight": 2, "checkable": "yes"}]},
                       "rubric_authoring", OPTIONS, ITEM)
    assert locs(exc) == ["response.criteria[0].category", "response.criteria[1].weight",
                         "response.criteria[1].criterion", "response.criteria[2].criterion",
                         "response.criteria[2].weight", "response.criteria[2].checkable"]
    with pytest.raises(ValidationFailed, match="2 to 20 criteria, got 1"):
        parse_response({"criteria": GOOD["criteria"][:1]}, "rubric_authoring", OPTIONS, ITEM)
    with pytest.raises(ValidationFailed, match="must not be 0"):
        parse_response({"criteria": [{**GOOD["criteria"][0], "weight": 0}, GOOD["criteria"][1]]},
                       "rubric_authoring", OPTIONS, ITEM)


def test_the_rubrics_export_and_the_form():
    assert formats_for("rubric_authoring") == [ExportFormat.rubrics, ExportFormat.raw]
    response = parse_response({**GOOD, "notes": "pitfall is common"}, "rubric_authoring", OPTIONS, ITEM)
    [record] = export_records("rubric_authoring", ExportFormat.rubrics, ITEM, response, {"item": "r1"})
    assert record["prompt"] == ITEM["prompt"]
    assert record["rubric"][2] == {"criterion": "Claims tap water is unsafe everywhere", "weight": -5,
                                   "category": "pitfall", "checkable": True}
    assert record["metadata"]["references"] == ITEM["references"] and record["metadata"]["notes"] == "pitfall is common"

    class Form(dict):
        def getlist(self, key):
            return [self[key]] if key in self else []

    form = Form({"criterion-0": " Says it depends ", "category-0": "essential", "checkable-0": "on",
                 "criterion-1": "", "category-1": "optional",
                 "criterion-2": "Claims it is unsafe", "category-2": "pitfall", "weight-2": "-4"})
    assert task_type("rubric_authoring").response_from_form(form, OPTIONS, ITEM) == {"criteria": [
        {"criterion": "Says it depends", "category": "essential", "checkable": True},
        {"criterion": "Claims it is unsafe", "category": "pitfall", "checkable": False, "weight": -4}]}
