"""Step labels, agent trajectories and the signed preference scale through the services, on both
databases: import (with line-numbered errors), lease, submit, review, quality report and exports
loaded with ``datasets``."""

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


def _load(records, tmp_path, name):
    import datasets

    path = tmp_path / name
    n = write_file(iter(records), path)
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == n
    return ds


def _judge(session, pid: int, plans: list[dict[str, dict]]) -> list:
    """One expert per plan ({external_id: response}); returns the submitted assignment ids."""
    done = []
    for plan in plans:
        actor = f.trainer_actor(f.expert(session))
        while (lease := svc.lease_next(session, actor, pid)) is not None:
            response = plan.get(f.staff_item(session, lease)["external_id"])
            if response is None:
                svc.release(session, actor, lease["assignment_id"])
            else:
                svc.submit(session, actor, lease["assignment_id"], response, Settings())
                done.append(lease["assignment_id"])
    return done


def test_steps_import_work_review_quality_and_stepwise_export(session, tmp_path):
    p = f.project(session, "steps", overlap=2)
    with pytest.raises(ValidationFailed) as exc:
        import_items(session, f.ADMIN, p["id"], [(1, f.item_for("steps", 0)), (2, {"problem": "p", "steps": "a. b."})])
    assert [pr.loc for pr in exc.value.problems] == ["line 2: steps"]
    f.items(session, p["id"], "steps", 2)
    peek = f.trainer_actor(f.expert(session))
    lease = svc.lease_next(session, peek, p["id"])
    assert lease["item"]["steps"][0].startswith("Multiply first") and "gold" not in lease["item"]
    svc.release(session, peek, lease["assignment_id"])
    good = {"ratings": [1, 1, 1]}
    wrong = f.VALID_RESPONSE["steps"]
    aids = _judge(session, p["id"], [{"steps-0": wrong, "steps-1": good}, {"steps-0": wrong, "steps-1": good}])
    assert len(aids) == 4
    with pytest.raises(ValidationFailed, match=r"ratings\[0\]"):
        review(session, f.ADMIN, aids[0], "edit", response={"ratings": [None, 1, 1]})
    review(session, f.ADMIN, aids[1], "edit", response={"ratings": [1, 0, 1]})

    report = project_quality(session, f.ADMIN, p["id"], n_boot=20)
    parts = {(c["external_id"], c["part"]): c["label"] for c in report["consensus"]}
    assert parts[("steps-0", 0)] == "1" and parts[("steps-0", 1)] == "-1" and ("steps-0", 2) not in parts

    ds = _load(iter_records(session, f.ADMIN, p["id"], "stepwise"), tmp_path, "stepwise.jsonl")
    assert set(ds.column_names) == {"prompt", "completions", "labels", "metadata"}
    rows = sorted(ds, key=lambda r: (r["metadata"]["item_external_id"], len(r["labels"])))
    assert rows[0]["prompt"] == "What is 2 + 3 * 0?" and rows[0]["labels"] == [True, False]
    assert rows[0]["completions"] == ["Multiply first: 3 * 0 = 0.", "Then add: 2 + 0 = 3."]
    assert [r["labels"] for r in rows[2:]] == [[True, True, True]] * 2
    consensus = list(iter_records(session, f.ADMIN, p["id"], "stepwise", consensus=True))
    by_item = {r["metadata"]["item_external_id"]: r for r in consensus}
    assert by_item["steps-0"]["labels"] == [True, False] and by_item["steps-0"]["metadata"]["judgments"] == 2
    assert by_item["steps-1"]["labels"] == [True, True, True]
    stream = iter_records(session, f.ADMIN, p["id"], "sft")
    sft = list(stream)
    assert len(sft) == 2 and stream.left_out == {"no correction": 2}
    assert sft[0]["messages"][1]["content"] == "Multiply first: 3 * 0 = 0.\nThen add: 2 + 3 * n."
    raw = list(iter_records(session, f.ADMIN, p["id"], "raw"))
    assert {tuple(map(str, r["response"]["ratings"])) for r in raw} >= {("1", "-1", "None"), ("1", "0", "1")}
    assert write_file(iter_records(session, f.ADMIN, p["id"], "stepwise"), tmp_path / "steps.parquet") == 4


OPENAI_TRACE = {"external_id": "run-openai", "messages": [
    {"role": "user", "content": "Refund order 42."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "refund", "arguments": "{\"order\": 42}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "refunded"},
    {"role": "assistant", "content": "Order 42 is refunded."}]}


def test_trajectory_import_work_review_quality_and_export(session, tmp_path):
    p = f.project(session, "trajectory", overlap=2)
    bad = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": [{"type": "image"}]}]}
    with pytest.raises(ValidationFailed) as exc:
        import_items(session, f.ADMIN, p["id"], [(1, OPENAI_TRACE), (2, bad)])
    assert exc.value.problems[0].loc == "line 2: messages[1].content[0].type"
    import_items(session, f.ADMIN, p["id"], [(1, OPENAI_TRACE), (2, f.item_for("trajectory", 0))])
    wrong = f.VALID_RESPONSE["trajectory"]
    good = {"steps": ["correct", None, "correct"], "verdict": "success"}
    aids = _judge(session, p["id"], [{"run-openai": good, "trajectory-0": wrong},
                                     {"run-openai": good, "trajectory-0": {**wrong, "verdict": "partial"}}])
    assert len(aids) == 4
    with pytest.raises(ValidationFailed, match=r"steps\[1\]"):
        review(session, f.ADMIN, aids[0], "edit", response={**good, "steps": ["correct", "correct", "correct"]})
    review(session, f.ADMIN, aids[0], "accept")

    report = project_quality(session, f.ADMIN, p["id"], n_boot=20)
    parts = {(c["external_id"], c["part"]): c["label"] for c in report["consensus"]}
    assert parts[("run-openai", 0)] == "correct" and parts[("run-openai", 3)] == "success"
    assert parts[("trajectory-0", 2)] == "incorrect" and ("trajectory-0", 1) not in parts

    ds = _load(iter_records(session, f.ADMIN, p["id"], "trajectory"), tmp_path, "trajectory.jsonl")
    rows = {(r["metadata"]["item_external_id"], r["verdict"]) for r in ds}
    assert rows == {("run-openai", "success"), ("trajectory-0", "failure"), ("trajectory-0", "partial")}
    run = next(r for r in ds if r["metadata"]["item_external_id"] == "run-openai")
    assert run["task"] == "Refund order 42."
    assert [s["kind"] for s in run["steps"]] == ["tool_call", "tool_result", "message"]
    assert run["steps"][0]["arguments"] == '{"order": 42}' and run["steps"][1]["name"] == "refund"
    consensus = {r["metadata"]["item_external_id"]: r
                 for r in iter_records(session, f.ADMIN, p["id"], "trajectory", consensus=True)}
    assert consensus["trajectory-0"]["first_failure"] == 2
    assert consensus["trajectory-0"]["failure_modes"] == ["hallucinated result"]
    assert consensus["run-openai"]["verdict"] == "success" and consensus["run-openai"]["metadata"]["judgments"] == 2
    raw = list(iter_records(session, f.ADMIN, p["id"], "raw"))
    assert raw[0]["item"]["steps"][0]["kind"] == "tool_call"  # stored normalised
    assert write_file(iter_records(session, f.ADMIN, p["id"], "trajectory"), tmp_path / "runs.parquet") == 4


def test_a_signed_preference_scale_through_import_work_and_export(session, tmp_path):
    p = f.project(session, "preference", overlap=2, options={"scale": [-3, 3]})
    with pytest.raises(ValidationFailed) as exc:
        import_items(session, f.ADMIN, p["id"], [(1, f.item_for("preference", 0, gold={"choice": 0}))])
    assert exc.value.problems[0].loc == "line 1: gold.score"
    import_items(session, f.ADMIN, p["id"], [(1, f.item_for("preference", 0, gold={"score": -3})),
                                            (2, f.item_for("preference", 1))])
    aids = _judge(session, p["id"], [{"preference-0": {"score": -3}, "preference-1": {"score": 0}},
                                     {"preference-0": {"score": -1, "rationale": "A"}, "preference-1": {"score": 2}}])
    assert len(aids) == 4
    with pytest.raises(ValidationFailed, match="unknown field"):
        review(session, f.ADMIN, aids[0], "edit", response={"score": -2, "strength": 2})
    stream = iter_records(session, f.ADMIN, p["id"], "preference")
    ds = _load(stream, tmp_path, "signed.jsonl")
    assert stream.left_out == {"tie": 1}
    assert sorted(ds["margin"]) == [1.0, 2.0, 3.0]
    assert {r["metadata"]["score"] for r in ds} == {-3, -1, 2}
    [record] = [r for r in iter_records(session, f.ADMIN, p["id"], "preference", consensus=True)
                if r["metadata"]["item_external_id"] == "preference-0"]
    assert record["chosen"][0]["content"] == "good 0" and record["margin"] == 2.0
    report = project_quality(session, f.ADMIN, p["id"], n_boot=20)
    assert {c["external_id"]: c["label"] for c in report["consensus"]}["preference-0"] == "0"


def test_rubric_authoring_import_work_review_and_rubrics_export(session, tmp_path):
    p = f.project(session, "rubric_authoring", overlap=1)
    with pytest.raises(ValidationFailed) as exc:
        import_items(session, f.ADMIN, p["id"], [(1, f.item_for("rubric_authoring", 0)), (2, {"references": []})])
    assert [pr.loc for pr in exc.value.problems] == ["line 2: prompt"]
    f.items(session, p["id"], "rubric_authoring", 2)
    written = f.VALID_RESPONSE["rubric_authoring"]
    aids = _judge(session, p["id"], [{"rubric_authoring-0": written, "rubric_authoring-1": written}])
    assert len(aids) == 2
    edited = {"criteria": [*written["criteria"], {"criterion": "Mentions boiling as a fallback",
                                                  "category": "optional"}]}
    review(session, f.ADMIN, aids[0], "edit", response=edited)
    with pytest.raises(ValidationFailed, match="criteria must not overlap"):
        review(session, f.ADMIN, aids[1], "edit", response={"criteria": written["criteria"] * 2})
    report = project_quality(session, f.ADMIN, p["id"], n_boot=20)
    assert report["judgments"] == 2 and "consensus" not in report
    ds = _load(iter_records(session, f.ADMIN, p["id"], "rubrics"), tmp_path, "rubrics.jsonl")
    assert set(ds.column_names) == {"prompt", "rubric", "metadata"}
    by_item = {r["metadata"]["item_external_id"]: r for r in ds}
    assert [c["weight"] for c in by_item["rubric_authoring-0"]["rubric"]] == [5, -5, 1]
    assert by_item["rubric_authoring-0"]["metadata"]["review"] == "edited"
    assert by_item["rubric_authoring-1"]["rubric"][0] == {
        "criterion": "Says that safety depends on the location", "weight": 5, "category": "essential",
        "checkable": True}
    assert write_file(iter_records(session, f.ADMIN, p["id"], "rubrics"), tmp_path / "rubrics.parquet") == 2
