"""Multi-attribute rubric items, agreement per step position and agreement between rubric
authors, through the services on both databases: import, lease, submit, review, quality report
and exports loaded with ``datasets``."""

from __future__ import annotations

import os

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services.exports import iter_records, write_file
from expertloop.services.imports import import_items
from expertloop.services.quality import project_quality
from expertloop.services.reviews import review
from tests import factories as f

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ATTRS = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
HELPSTEER = {"criteria": [{"name": n, "scale": [0, 4]} for n in ATTRS]}


def _load(records, tmp_path, name):
    import datasets

    path = tmp_path / name
    n = write_file(iter(records), path)
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == n
    return ds


def _judge(session, pid: int, answer) -> list[int]:
    """Each ``answer(k, lease)`` by its own expert k until the queue is empty; the assignment ids."""
    done = []
    for k, plan in enumerate(answer):
        actor = f.trainer_actor(f.expert(session, name=f"T{k}"))
        while (lease := svc.lease_next(session, actor, pid)) is not None:
            response = plan(lease)
            if response is None:
                svc.release(session, actor, lease["assignment_id"])
                continue
            svc.submit(session, actor, lease["assignment_id"], response, Settings())
            done.append(lease["assignment_id"])
    return done


def _scores(h: int, c: int) -> dict:
    return {"helpfulness": h, "correctness": c, "coherence": 3, "complexity": 1, "verbosity": 2}


def test_rubric_items_with_several_answers_report_and_export(session, tmp_path):
    p = f.project(session, "rubric", overlap=3, options=HELPSTEER)
    good = [{"external_id": f"hs-{n}", "prompt": f"Question {n}?",
             "responses": [{"text": f"right {n}", "model": "m1"}, {"text": f"wrong {n}", "model": "m2"}]}
            for n in range(6)]
    with pytest.raises(ValidationFailed) as exc:
        import_items(session, f.ADMIN, p["id"], [(1, good[0]), (2, {"prompt": "p", "responses": [{"text": "x"}]})])
    assert exc.value.problems[0].loc == "line 2: responses"
    import_items(session, f.ADMIN, p["id"], [(i + 1, rec) for i, rec in enumerate(good)])
    # the first two score alike; the third is lenient by 2 on every answer's helpfulness
    plans = [lambda lease, bump=bump: {"scores": [_scores(min(4, 2 + bump), 4), _scores(bump, 0)]}
             for bump in (0, 0, 2)]
    aids = _judge(session, p["id"], plans)
    assert len(aids) == 18
    with pytest.raises(ValidationFailed, match=r"scores\[1\]\.helpfulness"):
        review(session, f.ADMIN, aids[0], "edit", response={"scores": [_scores(2, 4), _scores(9, 0)]})
    review(session, f.ADMIN, aids[0], "edit", response={"scores": [_scores(2, 4), _scores(0, 0)],
                                                       "comment": "checked"})

    report = project_quality(session, f.ADMIN, p["id"], n_boot=10)
    helpful = report["criteria"]["helpfulness"]
    units = {(c["item_id"], c["response"]) for c in helpful["consensus"]}
    assert len(units) == 12 and {r for _, r in units} == {0, 1}
    correct = report["criteria"]["correctness"]
    assert correct["agreement"]["krippendorff_alpha"]["value"] == 1.0
    lenient = next(c for c in report["trainers"] if c["name"] == "T2")
    [flag] = [fl for fl in lenient["flags"] if fl["kind"] == "leniency:helpfulness"]
    assert flag["offset"] > 1.0 and flag["n"] == 12  # every answer of every item is one scored unit
    assert not any(fl["kind"] == "leniency:correctness" for c in report["trainers"] for fl in c["flags"])

    ds = _load(iter_records(session, f.ADMIN, p["id"], "rubric"), tmp_path, "scores.jsonl")
    assert set(ds.column_names) == {"prompt", "response", "scores", "comment", "metadata"}
    assert len(ds) == 36 and set(ds["scores"][0]) == set(ATTRS)
    wrong = [r for r in ds if r["response"].startswith("wrong")]
    assert len(wrong) == 18 and {r["metadata"]["response_index"] for r in wrong} == {1}
    assert {r["metadata"]["model"] for r in wrong} == {"m2"}
    pairs = _load(iter_records(session, f.ADMIN, p["id"], "preference"), tmp_path, "pairs.jsonl")
    assert len(pairs) == 18 and all(r["chosen"][0]["content"].startswith("right") for r in pairs)
    # mean of the five attributes: (2+4+3+1+2)/5 - (0+0+3+1+2)/5 = 1.2 (the lenient third adds 2 to both)
    assert set(pairs["margin"]) == {1.2} and pairs[0]["metadata"]["chosen_scores"]["correctness"] == 4


def test_single_answer_items_and_ties_leave_no_pairs(session):
    p = f.project(session, "rubric", overlap=1)
    f.items(session, p["id"], "rubric", 1)
    import_items(session, f.ADMIN, p["id"], [(1, {"external_id": "two", "prompt": "p",
                                                   "responses": [{"text": "a"}, {"text": "b"}]})])
    same = {"accuracy": 3, "style": 1}
    _judge(session, p["id"], [lambda lease: ({"scores": [same, same]} if "responses" in lease["item"]
                                             else f.VALID_RESPONSE["rubric"])])
    stream = iter_records(session, f.ADMIN, p["id"], "preference")
    assert list(stream) == [] and stream.left_out == {"one answer": 1, "tie": 1}
    rows = list(iter_records(session, f.ADMIN, p["id"], "rubric"))
    assert len(rows) == 3 and report_ok(project_quality(session, f.ADMIN, p["id"], n_boot=0))


def report_ok(report) -> bool:
    return {c["response"] for c in report["criteria"]["accuracy"]["consensus"]} == {0, 1}


def test_step_agreement_per_position(session):
    p = f.project(session, "steps", overlap=3)
    f.items(session, p["id"], "steps", 3)
    # everyone agrees on step 1; on step 2 one of three says -1 (and stops there); step 3 after that
    plans = [lambda lease: {"ratings": [1, 1, 1]}, lambda lease: {"ratings": [1, 1, 0]},
             lambda lease: {"ratings": [1, -1]}]
    _judge(session, p["id"], plans)
    report = project_quality(session, f.ADMIN, p["id"], n_boot=0)
    steps = {s["step"]: s for s in report["step_agreement"]}
    assert sorted(steps) == [0, 1, 2]
    assert steps[0]["percent_agreement"] == 1.0 and steps[0]["items"] == 3 and steps[0]["judgments"] == 9
    assert steps[1]["percent_agreement"] == pytest.approx(1 / 3, abs=1e-4)
    assert steps[1]["krippendorff_alpha"] < steps[0]["percent_agreement"]
    assert steps[2]["judgments"] == 6 and steps[2]["percent_agreement"] == 0.0

    t = f.project(session, "trajectory", overlap=2)
    f.items(session, t["id"], "trajectory", 2)
    _judge(session, t["id"], [lambda lease: {"steps": ["correct", None, "correct"], "verdict": "success"},
                              lambda lease: {"steps": ["correct", None, "incorrect"], "verdict": "failure"}])
    steps = {s["step"]: s for s in project_quality(session, f.ADMIN, t["id"], n_boot=0)["step_agreement"]}
    assert sorted(steps) == [0, 2]  # the tool result is never labelled; the verdict is no step
    assert steps[0]["percent_agreement"] == 1.0 and steps[2]["percent_agreement"] == 0.0
    assert "step_agreement" not in project_quality(session, f.ADMIN, f.project(session, "label")["id"])


def _rubric(meets_good: list[int], meets_pitfall: list[int]) -> dict:
    return {"criteria": [
        {"criterion": "Says it depends on the location", "category": "essential", "meets": meets_good},
        {"criterion": "Names a way to check", "category": "optional"},
        {"criterion": "Claims it is unsafe everywhere", "category": "pitfall", **(
            {"meets": meets_pitfall} if meets_pitfall else {})}]}


def test_agreement_between_rubric_authors_on_reference_scores(session):
    p = f.project(session, "rubric_authoring", overlap=2)
    import_items(session, f.ADMIN, p["id"], [
        (1, {"external_id": "w1", "prompt": "Is tap water safe?",
             "references": ["It depends on where you live.", "Never drink it."]}),
        (2, {"external_id": "w2", "prompt": "Is well water safe?",
             "references": ["Test it first.", "Always."]}),
        (3, {"external_id": "w3", "prompt": "No references here?"})])
    a = _rubric([0], [1])
    b = _rubric([0], [1])
    plans = [lambda lease: a if lease["item"].get("references") else f.VALID_RESPONSE["rubric_authoring"],
             lambda lease: b if lease["item"].get("references") else f.VALID_RESPONSE["rubric_authoring"]]
    aids = _judge(session, p["id"], plans)
    assert len(aids) == 6
    agree = project_quality(session, f.ADMIN, p["id"], n_boot=10)["author_agreement"]
    assert agree["items_shared"] == 3 and agree["items_scored"] == 2 and agree["answers_scored"] == 4
    assert agree["mean_abs_difference"] == 0.0 and agree["agreement"]["krippendorff_alpha"]["value"] == 1.0
    # a reviewer's edit of the second author's marks on w2 (what the export uses) moves the measure
    w2 = next(aid for aid in aids[3:] if svc_item(session, aid) == "w2")
    with pytest.raises(ValidationFailed, match=r"criteria\[0\]\.meets\[0\]"):
        review(session, f.ADMIN, w2, "edit", response=_rubric([5], []))
    review(session, f.ADMIN, w2, "edit", response=_rubric([1], [0]))
    agree = project_quality(session, f.ADMIN, p["id"], n_boot=0)["author_agreement"]
    assert agree["mean_abs_difference"] > 0.5 and agree["agreement"]["krippendorff_alpha"]["value"] < 0.5


def svc_item(session, assignment_id: int) -> str:
    from expertloop.services import uow
    from expertloop.storage.orm import Assignment, Item

    with uow.read(session):
        a = session.get(Assignment, assignment_id)
        return session.get(Item, a.item_id).external_id
