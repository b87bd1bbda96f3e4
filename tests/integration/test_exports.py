"""Exports in TRL's layouts, loaded back with Hugging Face ``datasets`` as a trainer would."""

from __future__ import annotations

import json
import os

import pytest

from expertloop.config import Settings
from expertloop.domain.errors import PermissionDenied, ValidationFailed
from expertloop.services import assignments as svc
from expertloop.services.exports import iter_records, write_file
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
