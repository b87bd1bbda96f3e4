"""Exports in TRL's layouts, loaded back with Hugging Face ``datasets`` as a trainer would."""

from __future__ import annotations

import json
import os

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import PermissionDenied, ValidationFailed
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.services.exports import iter_records, write_file
from expertloop.services.imports import import_items
from tests import factories as f

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _work(session, task_type: str, responses: list[dict], *, overlap: int = 1, **project_kw) -> int:
    p = f.project(session, task_type, overlap=overlap, **project_kw)
    f.items(session, p["id"], task_type, len(responses) // overlap)
    experts = [f.trainer_actor(f.expert(session)) for _ in range(overlap)]
    it = iter(responses)
    for actor in experts:
        while (lease := svc.lease_next(session, actor, p["id"])) is not None:
            svc.submit(session, actor, lease["assignment_id"], next(it), Settings())
    return p["id"]


def _load(records, tmp_path, name="out.jsonl"):
    import datasets

    path = tmp_path / name
    n = write_file(iter(records), path)
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == n
    return ds


def test_sft_export_is_trl_conversational(session, tmp_path):
    pid = _work(session, "sft", [{"completion": f"answer {i}"} for i in range(3)])
    ds = _load(iter_records(session, f.ADMIN, pid, "sft"), tmp_path)
    assert ds[0]["messages"] == [{"role": "user", "content": "Explain thing 0."},
                                 {"role": "assistant", "content": "answer 0"}]
    assert set(ds.column_names) == {"messages", "metadata"}


def test_preference_export_drops_ties_and_kto_labels_both_sides(session, tmp_path):
    pid = _work(session, "preference", [{"choice": 0}, {"choice": 1}, {"choice": "tie"}, {"choice": 0, "strength": 3}])
    ds = _load(iter_records(session, f.ADMIN, pid, "preference"), tmp_path)
    assert len(ds) == 3  # the tie is left out
    assert ds[1]["chosen"] == [{"role": "assistant", "content": "bad 1"}]
    assert ds[1]["rejected"] == [{"role": "assistant", "content": "good 1"}]
    assert ds[0]["prompt"] == [{"role": "user", "content": "Question 0?"}]
    kto = _load(iter_records(session, f.ADMIN, pid, "kto"), tmp_path, "kto.jsonl")
    assert len(kto) == 6 and sum(kto["label"]) == 3
    assert kto[0]["completion"] == [{"role": "assistant", "content": "good 0"}] and kto[0]["label"] is True


def test_ranking_expands_to_all_pairs(session, tmp_path):
    pid = _work(session, "ranking", [{"order": [2, 0, 1]}])
    ds = _load(iter_records(session, f.ADMIN, pid, "preference"), tmp_path)
    pairs = [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in ds]
    assert pairs == [("c", "a"), ("c", "b"), ("a", "b")]
    assert len(list(iter_records(session, f.ADMIN, pid, "ranking"))) == 3


def test_factcheck_rubric_label_and_raw_exports_load(session, tmp_path):
    fc = _work(session, "factcheck", [f.VALID_RESPONSE["factcheck"]] * 2)
    ds = _load(iter_records(session, f.ADMIN, fc, "factcheck"), tmp_path, "fc.jsonl")
    assert ds[0]["claims"][1]["verdict"] == "refuted" and ds[0]["claims"][1]["claim"] == "The sun is cold."
    rb = _work(session, "rubric", [f.VALID_RESPONSE["rubric"]])
    ds = _load(iter_records(session, f.ADMIN, rb, "rubric"), tmp_path, "rb.jsonl")
    assert ds[0]["scores"] == {"accuracy": 4, "style": 2}
    lb = _work(session, "label", [{"label": "yes"}, {"label": "no"}])
    ds = _load(iter_records(session, f.ADMIN, lb, "label"), tmp_path, "lb.jsonl")
    assert ds["label"] == ["yes", "no"] and ds["text"] == ["Text 0", "Text 1"]
    # raw: nested objects (not JSON text) in JSONL, ties included
    pref = _work(session, "preference", [{"choice": "tie"}, {"choice": 1}])
    ds = _load(iter_records(session, f.ADMIN, pref, "raw"), tmp_path, "raw.jsonl")
    assert ds[0]["response"] == {"choice": "tie"} and ds[1]["response"] == {"choice": 1}
    assert sorted(ds[0]["presentation"]["order"]) == [0, 1]
    assert ds[0]["item"]["responses"][0]["text"] == "good 0" and ds[0]["original_response"] is None
    # Parquet needs one type per column: there raw's nested payloads are JSON text
    path = tmp_path / "raw.parquet"
    assert write_file(iter_records(session, f.ADMIN, pref, "raw"), path) == 2
    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    assert [json.loads(r["response"]) for r in rows] == [{"choice": "tie"}, {"choice": 1}]


def test_parquet_export_loads_with_datasets(session, tmp_path):
    import datasets

    pid = _work(session, "preference", [{"choice": 0}, {"choice": 1}])
    path = tmp_path / "pref.parquet"
    assert write_file(iter_records(session, f.ADMIN, pid, "preference"), path) == 2
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.column_names == ["prompt", "chosen", "rejected", "margin", "metadata"]


def test_provenance_pseudonyms_are_stable_per_project_and_differ_across_projects(session):
    e = f.expert(session)
    actor = f.trainer_actor(e)
    pseudonyms = []
    for _ in range(2):
        p = f.project(session, "label")
        f.items(session, p["id"], "label", 2)
        while (lease := svc.lease_next(session, actor, p["id"])) is not None:
            svc.submit(session, actor, lease["assignment_id"], {"label": "yes"}, Settings())
        names = {r["metadata"]["expert"] for r in iter_records(session, f.ADMIN, p["id"], "label")}
        assert len(names) == 1
        pseudonyms.append(names.pop())
    assert pseudonyms[0] != pseudonyms[1]
    assert all(p.startswith("ex_") and len(p) == 19 for p in pseudonyms)
    assert pseudonyms[0][3:] not in (str(e["id"]), e["email"], e["name"])


def test_export_checks_role_format_and_output(session, tmp_path):
    p = f.project(session, "label")
    with pytest.raises(PermissionDenied):
        iter_records(session, f.trainer_actor(f.expert(session)), p["id"], "label")
    with pytest.raises(ValidationFailed, match="must be one of"):
        iter_records(session, f.ADMIN, p["id"], "csv")
    with pytest.raises(ValidationFailed, match=r"\.jsonl or \.parquet"):
        write_file(iter([]), tmp_path / "out.txt")


# -- what each record rests on ------------------------------------------------------------------
def _judge(session, pid: int, answers: list[dict[str, dict]]) -> list:
    """One expert per entry of ``answers`` ({external_id: response}); items an expert has no
    answer for are skipped. Returns the experts' actors."""
    actors = []
    for plan in answers:
        actor = f.trainer_actor(f.expert(session))
        actors.append(actor)
        while (lease := svc.lease_next(session, actor, pid)) is not None:
            response = plan.get(f.staff_item(session, lease)["external_id"])
            if response is None:
                svc.release(session, actor, lease["assignment_id"])
            else:
                svc.submit(session, actor, lease["assignment_id"], response, Settings())
    return actors


def test_label_consensus_export_carries_soft_labels_and_filters(session):
    p = f.project(session, "label", overlap=3)
    f.items(session, p["id"], "label", 3)
    yes, no = {"label": "yes"}, {"label": "no"}
    _judge(session, p["id"], [{"label-0": yes, "label-1": yes, "label-2": no},
                              {"label-0": yes, "label-1": no},
                              {"label-0": yes, "label-1": yes}])
    records = {r["metadata"]["item_external_id"]: r
               for r in iter_records(session, f.ADMIN, p["id"], "label", consensus=True)}
    assert set(records) == {"label-0", "label-1", "label-2"}
    one, split = records["label-0"], records["label-1"]
    assert one["label"] == "yes" and one["distribution"] == {"yes": 1.0, "no": 0.0, "unsure": 0.0}
    assert one["metadata"]["judgments"] == 3 and one["metadata"]["agreement"] == 1.0
    assert split["label"] == "yes" and split["distribution"] == {"yes": 0.6667, "no": 0.3333, "unsure": 0.0}
    assert split["metadata"]["agreement"] == 0.6667 and 0.5 <= split["metadata"]["confidence"] <= 1
    assert records["label-2"]["metadata"]["judgments"] == 1
    # --min-judgments leaves out the item resting on one judgment, and says so
    stream = iter_records(session, f.ADMIN, p["id"], "label", consensus=True, min_judgments=2)
    assert [r["metadata"]["item_external_id"] for r in stream] == ["label-0", "label-1"]
    assert stream.summary() == {"records": 2, "unit": "items", "left_out": {"min_judgments": 1}}
    # --min-confidence: nothing is more than certain
    stream = iter_records(session, f.ADMIN, p["id"], "label", consensus=True, min_confidence=1.0)
    kept = list(stream)
    assert all(r["metadata"]["confidence"] >= 1.0 for r in kept)
    assert stream.written + stream.left_out["min_confidence"] == 3 and stream.left_out["min_confidence"] >= 1
    # per-judgment records: the same filters count judgments, and carry the distribution too
    stream = iter_records(session, f.ADMIN, p["id"], "label", min_judgments=3)
    per_judgment = list(stream)
    assert len(per_judgment) == 6 and stream.left_out == {"min_judgments": 1}
    assert per_judgment[0]["consensus_distribution"]["yes"] in (1.0, 0.6667)
    assert all(r["metadata"]["judgments"] == 3 for r in per_judgment)


def test_factcheck_consensus_is_per_claim_with_distributions(session):
    p = f.project(session, "factcheck", overlap=2)
    f.items(session, p["id"], "factcheck", 1)
    right = f.VALID_RESPONSE["factcheck"]
    split = {"claims": [{"verdict": "supported"}, {"verdict": "supported"}]}
    _judge(session, p["id"], [{"factcheck-0": right}, {"factcheck-0": split}])
    [record] = iter_records(session, f.ADMIN, p["id"], "factcheck", consensus=True)
    paris, sun = record["claims"]
    assert paris["verdict"] == "supported" and paris["agreement"] == 1.0
    assert paris["distribution"] == {"supported": 1.0, "refuted": 0.0, "not_enough_info": 0.0}
    assert sun["distribution"] == {"supported": 0.5, "refuted": 0.5, "not_enough_info": 0.0}
    assert sun["agreement"] == 0.5 and sun["verdict"] in ("supported", "refuted")
    assert record["metadata"]["judgments"] == 2 and record["metadata"]["agreement"] == 0.5
    assert record["metadata"]["confidence"] == min(paris["confidence"], sun["confidence"])
    # per-judgment records carry each claim's consensus and distribution
    per_judgment = list(iter_records(session, f.ADMIN, p["id"], "factcheck"))
    assert per_judgment[0]["claims"][1]["consensus_distribution"]["refuted"] == 0.5


def test_ties_never_become_pairs_and_are_counted(session):
    p = f.project(session, "preference", overlap=1)
    f.items(session, p["id"], "preference", 3)
    _judge(session, p["id"], [{"preference-0": {"choice": "tie"}, "preference-1": {"choice": 0, "strength": 3},
                               "preference-2": {"choice": "tie"}}])
    stream = iter_records(session, f.ADMIN, p["id"], "preference", consensus=True)
    records = list(stream)
    assert [r["metadata"]["item_external_id"] for r in records] == ["preference-1"]
    assert stream.summary() == {"records": 1, "unit": "items", "left_out": {"tie": 2}}
    assert records[0]["margin"] == 3.0 and records[0]["metadata"]["judgments"] == 1
    stream = iter_records(session, f.ADMIN, p["id"], "kto")
    assert len(list(stream)) == 2 and stream.left_out == {"tie": 2}
    assert stream.summary_line() == "left out 2 judgments: 2 ties"
    assert iter_records(session, f.ADMIN, p["id"], "kto").summary_line() == "left out no judgments"


def test_preference_records_keep_rationale_criteria_margin_and_gold_flag(session):
    p = f.project(session, "preference")
    f.items(session, p["id"], "preference", 1)
    import_items(session, f.ADMIN, p["id"], [(1, {**f.item_for("preference", 9), "gold": 0})])
    _judge(session, p["id"], [{"preference-0": f.VALID_RESPONSE["preference"], "preference-9": {"choice": 1}}])
    records = {r["metadata"]["item_external_id"]: r for r in iter_records(session, f.ADMIN, p["id"], "preference")}
    judged = records["preference-0"]
    assert judged["margin"] == 2.0 and judged["metadata"]["strength"] == 2
    assert judged["metadata"]["rationale"] == "more accurate" and judged["metadata"]["criteria"] == {"accuracy": 5}
    assert records["preference-9"]["margin"] == 0.0  # no strength given: no margin
    assert judged["metadata"]["is_gold"] is False and records["preference-9"]["metadata"]["is_gold"] is True
    for fmt in ("ranking", "kto", "raw"):
        flags = {r["metadata"]["item_external_id"]: r["metadata"]["is_gold"]
                 for r in iter_records(session, f.ADMIN, p["id"], fmt)}
        assert flags == {"preference-0": False, "preference-9": True}, fmt


def test_ranking_consensus_orders_by_top_choice_then_mean_rank(session):
    p = f.project(session, "ranking", overlap=3)
    import_items(session, f.ADMIN, p["id"], [(1, {"external_id": t, "prompt": "Rank",
                                                   "responses": [{"text": t} for t in "abcd"]}) for t in "xy"])
    _judge(session, p["id"], [{"x": {"order": [2, 0, 1, 3]}, "y": {"order": [2, 0, 1, 3]}},
                              {"x": {"order": [2, 1, 0, 3]}, "y": {"order": [2, 1, 0, 3]}},
                              {"y": {"order": [2, 0, 3, 1]}}])
    records = list(iter_records(session, f.ADMIN, p["id"], "ranking", consensus=True))
    by_item = {e: [r for r in records if r["metadata"]["item_external_id"] == e] for e in "xy"}
    # x: c is both trainers' top; a and b share mean rank 1.5 (tied: no a/b pair); d is last
    meta = by_item["x"][0]["metadata"]
    assert meta["consensus_order"] == [2, 0, 1, 3] and meta["agreement"] == 1.0 and meta["judgments"] == 2
    pairs = {(r["metadata"]["chosen_index"], r["metadata"]["rejected_index"]) for r in by_item["x"]}
    assert pairs == {(2, 0), (2, 1), (2, 3), (0, 3), (1, 3)}
    # y: mean ranks a 4/3, b 2, d 8/3; each pair says how many judgments ranked it that way
    pairs = {(r["metadata"]["chosen_index"], r["metadata"]["rejected_index"]): r["metadata"]["pair_agreement"]
             for r in by_item["y"]}
    assert by_item["y"][0]["metadata"]["consensus_order"] == [2, 0, 1, 3] and len(pairs) == 6
    assert pairs[(2, 0)] == 1.0 and pairs[(0, 1)] == 0.6667 and pairs[(1, 3)] == 0.6667


def test_review_state_and_edit_provenance_on_every_record(session):
    from expertloop.services.reviews import review

    p = f.project(session, "label")
    f.items(session, p["id"], "label", 3)
    _judge(session, p["id"], [{"label-0": {"label": "yes"}, "label-1": {"label": "yes"}, "label-2": {"label": "no"}}])
    reviewer = f.expert(session, name="Rita Reviewer")
    actor = Actor(role=Role.reviewer, expert_id=reviewer["id"])
    ids = {r["metadata"]["item_external_id"]: r["metadata"]["assignment_id"]
           for r in iter_records(session, f.ADMIN, p["id"], "label")}
    review(session, actor, ids["label-0"], "accept")
    review(session, actor, ids["label-1"], "edit", response={"label": "unsure"})
    records = {r["metadata"]["item_external_id"]: r for r in iter_records(session, f.ADMIN, p["id"], "label")}
    unreviewed = records["label-2"]["metadata"]
    assert unreviewed["review"] == "unreviewed" and unreviewed["reviewer"] is None
    assert records["label-0"]["metadata"]["review"] == "accepted"
    edited = records["label-1"]
    assert edited["label"] == "unsure" and edited["metadata"]["review"] == "edited"
    assert edited["metadata"]["reviewer"].startswith("ex_")
    assert edited["metadata"]["reviewer"] not in (edited["metadata"]["expert"], str(reviewer["id"]))
    raw = {r["metadata"]["item_external_id"]: r for r in iter_records(session, f.ADMIN, p["id"], "raw")}
    assert raw["label-1"]["response"] == {"label": "unsure"} and raw["label-1"]["original_response"] == {"label": "yes"}
    [consensus] = [r for r in iter_records(session, f.ADMIN, p["id"], "label", consensus=True)
                   if r["metadata"]["item_external_id"] == "label-1"]
    assert consensus["metadata"]["reviews"] == {"edited": 1}
    assert consensus["metadata"]["editors"] == [edited["metadata"]["reviewer"]]


def test_consensus_and_confidence_filters_are_checked_before_streaming(session):
    sft = f.project(session, "sft")
    with pytest.raises(ValidationFailed, match="no categorical answers"):
        iter_records(session, f.ADMIN, sft["id"], "sft", consensus=True)
    with pytest.raises(ValidationFailed, match="no consensus"):
        iter_records(session, f.ADMIN, sft["id"], "sft", min_confidence=0.9)
    pref = f.project(session, "preference")
    with pytest.raises(ValidationFailed, match="use one of: preference, ranking"):
        iter_records(session, f.ADMIN, pref["id"], "kto", consensus=True)
    with pytest.raises(ValidationFailed) as exc:
        iter_records(session, f.ADMIN, pref["id"], "preference", min_judgments=0)
    assert exc.value.problems[0].loc == "min_judgments"
    with pytest.raises(ValidationFailed) as exc:
        iter_records(session, f.ADMIN, pref["id"], "preference", min_confidence=1.5)
    assert exc.value.problems[0].loc == "min_confidence"


def test_api_export_filters_and_reports_a_summary_trailer(session, client):
    p = f.project(session, "preference", overlap=1)
    f.items(session, p["id"], "preference", 3)
    _judge(session, p["id"], [{"preference-0": {"choice": "tie"}, "preference-1": {"choice": 0},
                               "preference-2": {"choice": 1}}])
    headers = f.auth(f.token(session, "manager"))
    r = client.get(f"/api/v1/projects/{p['id']}/export", headers=headers,
                   params={"format": "preference", "consensus": "true", "min_judgments": 1, "summary": "true"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == 3 and lines[-1] == {"_summary": {"records": 2, "unit": "items", "left_out": {"tie": 1}}}
    r = client.get(f"/api/v1/projects/{p['id']}/export", headers=headers, params={"format": "preference"})
    assert all("_summary" not in json.loads(line) for line in r.text.splitlines())
    r = client.get(f"/api/v1/projects/{p['id']}/export", headers=headers,
                   params={"format": "preference", "min_confidence": 2})
    assert r.status_code == 422


def test_jsonl_file_is_one_record_per_line_in_chunks_with_progress(tmp_path):
    records = [{"i": i, "text": "é" * 50, "nested": {"x": [1, 2.5, None, True]}} for i in range(2500)]
    seen: list[int] = []
    n = write_file(iter(records), tmp_path / "out.jsonl", progress=seen.append, every=1000)
    assert n == 2500 and seen == [1000, 2000]
    expected = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode()
    assert (tmp_path / "out.jsonl").read_bytes() == expected


def test_jsonl_lines_orjson_refuses_keep_the_compact_layout(tmp_path):
    """A value the fast encoder refuses (an integer beyond 64 bits, a non-string key, an
    unpaired surrogate) is still written, in the same compact layout as every other line."""
    records = [{"a": 1, "b": [1.5, "x"]}, {"big": 2**70, "n": {1: "one"}}, {"s": "\ud800é"}, {"a": 2}]
    n = write_file(iter(records), tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_bytes().split(b"\n")
    assert n == 4 and lines[-1] == b""
    assert lines[:-1] == [json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
                          for r in records]
    assert json.loads(lines[1]) == {"big": 2**70, "n": {"1": "one"}}


def test_stored_json_reads_the_same_as_the_standard_library():
    """Exports decode stored JSON with a faster reader; what it cannot read (NaN, an escaped
    unpaired surrogate) falls back to ``json``, and the 64-bit integers inputs may hold are exact."""
    from datetime import UTC, datetime

    from expertloop.storage.repositories import _aware, _loads

    for text in ['{"a": [1, 2.5, null, true], "b": "\\u00e9"}', "NaN", '"\\ud800"', str(2**63 - 1), str(-(2**63)),
                 "1e400"]:
        value, expected = _loads(text), json.loads(text)
        assert value == expected or (value != value and expected != expected)
        assert type(value) is type(expected)
    for text in ("2026-11-30 02:59:35.553142", "2026-11-30 02:59:35", "2026-11-30T02:59:35.5"):
        assert _aware(text) == datetime.fromisoformat(text).replace(tzinfo=UTC)
        assert _aware(text).utcoffset().total_seconds() == 0


def test_preference_export_without_a_stored_fit_does_not_fit_one(session, monkeypatch):
    """Preference records carry no consensus: exporting them never fits Dawid-Skene (a
    project-wide fit that takes minutes at a million judgments)."""
    from expertloop.services import consensus

    pid = _work(session, "preference", [{"choice": 0, "strength": 2}, {"choice": 1, "strength": 1}])

    def no_fit(*_a, **_k):
        raise AssertionError("the export fitted the consensus")

    monkeypatch.setattr(consensus, "fit_consensus", no_fit)
    records = list(iter_records(session, f.ADMIN, pid, "preference"))
    assert [r["metadata"]["judgments"] for r in records] == [1, 1]
    assert [r["margin"] for r in records] == [2.0, 1.0]


def test_new_fields_keep_trl_layouts_and_load_from_parquet(session, tmp_path):
    """``metadata.decided_by``/``judge`` on every record, and a fact-check's final claims (one trainer
    kept the split, one corrected it): the TRL columns stay as they were, and JSONL and Parquet
    both load with ``datasets``."""
    import datasets

    sft = _work(session, "sft", [{"completion": "answer"}])
    ds = _load(iter_records(session, f.ADMIN, sft, "sft"), tmp_path, "sft.jsonl")
    assert set(ds.column_names) == {"messages", "metadata"} and ds[0]["metadata"]["decided_by"] == "experts"
    pref = _work(session, "preference", [{"choice": 0}])
    ds = _load(iter_records(session, f.ADMIN, pref, "preference"), tmp_path, "pref.jsonl")
    assert ds.column_names == ["prompt", "chosen", "rejected", "margin", "metadata"]
    assert ds[0]["metadata"]["decided_by"] == "experts" and ds[0]["metadata"]["judge"] is None
    fc = _work(session, "factcheck", [f.VALID_RESPONSE["factcheck"], {"claims": [
        {"text": "Paris is in France.", "verdict": "supported"},
        {"text": "The sun is hot.", "from": [1], "verdict": "supported"},
        {"text": "The sun is a star.", "verdict": "supported"}]}], overlap=2)
    records = list(iter_records(session, f.ADMIN, fc, "factcheck"))
    assert [[c["origin"] for c in r["claims"]] for r in records] == [["proposed", "proposed"],
                                                                      ["proposed", "edited", "added"]]
    ds = _load(records, tmp_path, "fc.jsonl")
    assert ds[1]["claims"][2]["from"] == [] and ds[1]["claim_changes"]["added"] == 1
    path = tmp_path / "fc.parquet"
    assert write_file(iter(records), path) == 2
    pq = datasets.load_dataset("parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert pq[1]["claims"][1]["claim"] == "The sun is hot." and pq[0]["proposed_claims"] == pq[1]["proposed_claims"]
