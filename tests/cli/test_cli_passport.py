"""A dataset's passport from the command line: an export with a signed manifest, `verify`
accepting it and naming exactly what a tampered copy fails, the signed revocation list after a
consent withdrawal, and the Hugging Face Hub folder that `datasets.load_dataset` reads."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from expertloop.config import Settings
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.storage.db import make_engine, make_sessionmaker

SIGNALS = {"completion": {"typed_chars": 40, "pasted_chars": 0, "paste_events": 0, "keystrokes": 44,
                          "final_chars": 40}}


@pytest.fixture()
def sft_project(cli, tmp_path):
    """An sft project with terms, 12 items, two experts: ana answers all, bo answers 4."""
    assert cli("init").exit_code == 0
    experts = tmp_path / "experts.jsonl"
    experts.write_text("".join(json.dumps({"name": n, "email": f"{n}@example.org", "hourly_rate_usd": "50.00"})
                               + "\n" for n in ("ana", "bo")))
    assert cli("experts", "import", str(experts)).exit_code == 0
    project = tmp_path / "p.json"
    project.write_text(json.dumps({"name": "Ideal answers", "task_type": "sft", "overlap": 2,
                                   "guidelines": "Answer as a historian would.",
                                   "terms": "# Terms\n\nYour answers train models; you may withdraw."}))
    pid = int(cli("project", "create", str(project)).output.strip())
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"external_id": f"q{i}", "prompt": f"Why did event {i} happen?"}) + "\n"
                             for i in range(12)))
    assert cli("items", "import", str(pid), str(items)).exit_code == 0
    from expertloop.services.consent import agree

    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        for expert_id, quota in ((1, 12), (2, 4)):
            actor = Actor(Role.trainer, expert_id)
            agree(s, actor, pid, 1)
            for n in range(quota):
                lease = svc.lease_next(s, actor, pid)
                svc.submit(s, actor, lease["assignment_id"], {"completion": f"Because of cause {n} by {expert_id}."},
                           Settings(), authenticity=SIGNALS if expert_id == 1 else None)
    engine.dispose()
    return pid


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_export_verifies_and_a_tampered_file_is_named(cli, sft_project, tmp_path):
    out = tmp_path / "ds"
    r = cli("export", str(sft_project), "--format", "sft", "--manifest", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "wrote 16 records" in r.stderr and "manifest.json" in r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"] == [{"path": "data.jsonl", "sha256": sha(out / "data.jsonl"),
                                  "bytes": (out / "data.jsonl").stat().st_size, "records": 16, "format": "jsonl",
                                  "split": None}]
    assert manifest["counts"] == {"records": 16, "unit": "judgments", "left_out": {}, "items": 12, "experts": 2,
                                  "gold_items": 0, "splits": None}
    assert manifest["guidelines"] == {"current_version": 1, "text": "Answer as a historian would.",
                                      "versions_in_data": {"1": 16}}
    assert manifest["terms"]["current_version"] == 1 and "you may withdraw" in manifest["terms"]["text"]
    assert manifest["terms"]["versions_in_data"] == {"1": 16}
    assert manifest["consent"]["experts_with_consent_in_force"] == 2
    assert manifest["review"] == {"accepted": 0, "edited": 0, "unreviewed": 16, "reviewed_share": 0.0}
    assert manifest["authenticity"]["human_authenticated"] == 12
    assert manifest["authenticity"]["human_authenticated_share"] == 0.75
    assert manifest["authenticity"]["outcomes"] == {"clear": 12, "no_signals": 4}
    assert manifest["query"]["format"] == "sft" and manifest["software"]["name"] == "expertloop"
    assert manifest["signing"]["algorithm"] == "Ed25519"
    assert manifest["signing"]["fingerprint"].startswith("sha256:")

    r = cli("verify", str(out))
    assert r.exit_code == 0, r.output
    assert "ok\tdata.jsonl" in r.stdout and "verified: signature by sha256:" in r.stdout
    r = cli("verify", str(out), "--trust", "sha256:" + "0" * 64)
    assert r.exit_code == 1 and "not the trusted key" in r.stdout

    # one changed byte in the data: verify names the file and both hashes
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    expected = sha(bad / "data.jsonl")
    text = (bad / "data.jsonl").read_text()
    (bad / "data.jsonl").write_text(text.replace("cause 3", "cause 8", 1))
    r = cli("verify", str(bad))
    assert r.exit_code == 1
    assert f"FAIL\tdata.jsonl: sha256 mismatch: expected {expected}, actual {sha(bad / 'data.jsonl')}" in r.stdout
    assert "NOT verified: 1 problems" in r.stdout

    # a changed manifest (a count made to look better): bad signature
    forged = tmp_path / "forged"
    shutil.copytree(out, forged)
    m = json.loads((forged / "manifest.json").read_text())
    m["authenticity"]["human_authenticated_share"] = 1.0
    (forged / "manifest.json").write_text(json.dumps(m))
    r = cli("verify", str(forged), "--json")
    assert r.exit_code == 1
    result = json.loads(r.stdout)
    assert result["ok"] is False and result["checked"] == ["data.jsonl"]
    assert result["problems"] == ["manifest: bad signature: the document was changed after it was signed, "
                                  "or signed by another key"]

    # a missing file
    (forged / "data.jsonl").unlink()
    r = cli("verify", str(forged))
    assert "FAIL\tdata.jsonl: missing" in r.stdout

    # refuses a folder that is not empty
    r = cli("export", str(sft_project), "--format", "sft", "--manifest", "-o", str(out))
    assert r.exit_code == 1 and "not an empty directory" in r.output


def test_a_withdrawal_revokes_records_the_holder_must_drop(cli, sft_project, tmp_path):
    out = tmp_path / "ds"
    assert cli("export", str(sft_project), "--format", "sft", "--manifest", "-o", str(out)).exit_code == 0
    empty = tmp_path / "rev0.json"
    r = cli("revocations", str(sft_project), "--out", str(empty))
    assert r.exit_code == 0 and "0 revoked records" in r.stderr
    assert cli("verify", str(out), "--revocations", str(empty)).exit_code == 0

    assert cli("consents", str(sft_project), "--withdraw", "2", "--reason", "asked by email").exit_code == 0
    rev = tmp_path / "rev1.json"
    r = cli("revocations", str(sft_project), "--out", str(rev))
    assert r.exit_code == 0 and "4 revoked records" in r.stderr
    doc = json.loads(rev.read_text())
    assert doc["kind"] == "expertloop.revocations" and doc["count"] == 4
    assert doc["signing"] == json.loads((out / "manifest.json").read_text())["signing"]

    r = cli("verify", str(out), "--revocations", str(rev), "--json")
    assert r.exit_code == 3, r.output
    drop = json.loads(r.stdout)["drop"]
    assert sorted(d["assignment_id"] for d in drop) == sorted(x["assignment_id"] for x in doc["records"])
    assert {d["file"] for d in drop} == {"data.jsonl"}
    lines = (out / "data.jsonl").read_text().splitlines()
    for d in drop:
        assert json.loads(lines[d["record"] - 1])["metadata"]["assignment_id"] == d["assignment_id"]
    r = cli("verify", str(out), "--revocations", str(rev))
    assert r.stdout.count("DROP\tdata.jsonl record") == 4 and "4 records to drop" in r.stdout

    # a revocation list someone edited is refused
    doc["records"] = doc["records"][:1]
    rev.write_text(json.dumps(doc))
    r = cli("verify", str(out), "--revocations", str(rev))
    assert r.exit_code == 1 and "FAIL\trevocations: bad signature" in r.stdout

    # a new export leaves the withdrawn work out and says so in its manifest; with the audit log
    again = tmp_path / "ds2"
    r = cli("export", str(sft_project), "--format", "sft", "--manifest", "--file-format", "parquet",
            "--include-audit", "-o", str(again))
    assert r.exit_code == 0, r.output
    manifest = json.loads((again / "manifest.json").read_text())
    assert manifest["counts"]["records"] == 12
    assert manifest["consent"]["judgments_withdrawn_and_left_out"] == 4
    assert manifest["consent"]["experts_withdrawn"] == 1
    assert [f["path"] for f in manifest["files"]] == ["data.parquet", "audit.jsonl"]
    entries = [json.loads(line) for line in (again / "audit.jsonl").read_text().splitlines()]
    assert [e["action"] for e in entries] == ["project.created", "export.made", "consent.withdrawn"]
    assert manifest["files"][1]["records"] == 3 and manifest["query"]["include_audit"] is True
    assert cli("verify", str(again)).exit_code == 0
    # every manifest export is in the audit log, with the manifest's hash
    r = cli("audit", "--project", str(sft_project), "--action", "export.made", "--json")
    made = json.loads(r.stdout)
    assert len(made) == 2 and made[0]["actor_role"] == "operator"
    assert made[0]["detail"]["manifest_sha256"] == sha(again / "manifest.json")
    assert made[0]["detail"]["include_audit"] is True and made[0]["detail"]["records"] == 12


def test_hub_folder_loads_with_datasets_and_verifies(cli, sft_project, tmp_path):
    datasets = pytest.importorskip("datasets")
    hub = tmp_path / "hub"
    r = cli("export", str(sft_project), "--format", "sft", "--hub-dir", str(hub), "--test-share", "0.25",
            "--seed", "7", "--license", "cc-by-4.0")
    assert r.exit_code == 0, r.output
    assert sorted(p.relative_to(hub).as_posix() for p in hub.rglob("*") if p.is_file()) == [
        "README.md", "data/test.parquet", "data/train.parquet", "manifest.json"]
    manifest = json.loads((hub / "manifest.json").read_text())
    splits = manifest["counts"]["splits"]
    assert splits["train"] + splits["test"] == 16 and splits["test"] > 0
    card = (hub / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\n")
    import yaml

    front = yaml.safe_load(card.split("---\n")[1])
    assert front["size_categories"] == ["n<1K"]
    assert front["configs"] == [{"config_name": "default", "data_files": [
        {"split": "train", "path": "data/train.parquet"}, {"split": "test", "path": "data/test.parquet"}]}]
    assert "## Written by experts" in card
    assert "| human-authenticated judgments | 12 of 16 (75.0%) |" in card

    ds = datasets.load_dataset(str(hub))
    assert ds["train"].num_rows == splits["train"] and ds["test"].num_rows == splits["test"]
    row = ds["train"][0]
    assert row["messages"][-1]["role"] == "assistant" and row["metadata"]["authenticity"]["outcome"]
    # the card's features are what datasets itself makes of the files
    import pyarrow.parquet as pq

    schema = pq.read_schema(hub / "data" / "train.parquet")
    assert front["dataset_info"]["features"] == datasets.Features.from_arrow_schema(schema)._to_yaml_list()
    # items never straddle the split, and the split is the same on every run
    train_items = {m["item_id"] for m in ds["train"]["metadata"]}
    test_items = {m["item_id"] for m in ds["test"]["metadata"]}
    assert not train_items & test_items
    hub2 = tmp_path / "hub2"
    assert cli("export", str(sft_project), "--format", "sft", "--hub-dir", str(hub2), "--test-share", "0.25",
               "--seed", "7", "--license", "cc-by-4.0").exit_code == 0
    assert (hub2 / "data" / "test.parquet").read_bytes() == (hub / "data" / "test.parquet").read_bytes()

    r = cli("verify", str(hub))
    assert r.exit_code == 0 and "ok\tREADME.md" in r.stdout and "ok\tdata/test.parquet" in r.stdout
    (hub / "README.md").write_text(card.replace("12 of 16", "16 of 16"))
    r = cli("verify", str(hub))
    assert r.exit_code == 1 and "FAIL\tREADME.md: sha256 mismatch" in r.stdout
    (hub / "extra.txt").write_text("x")
    assert "note\textra.txt: not covered by the manifest" in cli("verify", str(hub)).stdout


def test_export_option_errors(cli, sft_project, tmp_path):
    r = cli("export", str(sft_project), "--format", "sft", "--manifest")
    assert r.exit_code == 1 and "-o DIR" in r.output
    r = cli("export", str(sft_project), "--format", "sft", "--manifest", "--file-format", "csv", "-o",
            str(tmp_path / "x"))
    assert r.exit_code == 1 and "file_format" in r.output
    r = cli("verify", str(tmp_path))
    assert r.exit_code == 1 and "manifest.json is missing" in r.stdout


def test_verify_names_entries_outside_the_folder_and_unreadable_data(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from expertloop.services.passport import MANIFEST_KIND, verify
    from expertloop.services.signing import Signer

    signer = Signer(Ed25519PrivateKey.generate())
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "data.jsonl").write_text("not json\n")
    manifest = signer.sign({"kind": MANIFEST_KIND, "project": {"id": 1}, "created_at": "2026-01-01T00:00:00+00:00",
                            "files": [{"path": "../outside.txt", "sha256": "0"}, "junk",
                                      {"path": "data.jsonl", "sha256": sha(folder / "data.jsonl"), "format": "jsonl",
                                       "bytes": 9}]})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    revocations = signer.sign({"kind": "expertloop.revocations", "project": {"id": 1},
                               "created_at": "2026-02-01T00:00:00+00:00", "records": [{"assignment_id": 5}]})
    (tmp_path / "rev.json").write_text(json.dumps(revocations))
    result = verify(folder, revocations=tmp_path / "rev.json")
    assert result.checked == ["data.jsonl"]
    assert result.problems[0].startswith("manifest: file entry {'path': '../outside.txt'")
    assert result.problems[1] == "manifest: file entry 'junk' has no path inside the folder"
    assert result.problems[2].startswith("data.jsonl: cannot be read to look for revoked records")
    assert not result.ok


def test_authenticity_review_from_the_command_line(cli, sft_project):
    long = "A pasted answer about causes and consequences, far too smooth to have been typed. " * 4
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        from expertloop.services.consent import agree
        from expertloop.services.experts import create_expert

        e = create_expert(s, Actor(Role.admin), {"name": "cy", "email": "cy@example.org", "hourly_rate_usd": "50"})
        actor = Actor(Role.trainer, e["id"])
        agree(s, actor, sft_project, 1)
        lease = svc.lease_next(s, actor, sft_project)
        svc.submit(s, actor, lease["assignment_id"], {"completion": long}, Settings(),
                   authenticity={"completion": {"pasted_chars": len(long), "paste_events": 1,
                                                "final_chars": len(long)}})
    engine.dispose()
    r = cli("authenticity", "list", str(sft_project))
    assert r.exit_code == 0, r.output
    assert "cy" in r.stdout and "flagged" in r.stdout and "completion: unkeyed_text 1.0 ≥ 0.5" in r.stdout
    [flag] = json.loads(cli("authenticity", "list", str(sft_project), "--json").stdout)
    check_id = str(flag["id"])
    assert flag["signals"]["completion"]["paste_events"] == 1 and flag["expert_name"] == "cy"
    r = cli("authenticity", "decide", check_id, "upheld")
    assert r.exit_code == 1 and "note" in r.output
    r = cli("authenticity", "decide", check_id, "upheld", "--note", "Pasted whole; please write your own.")
    assert r.exit_code == 0 and f"check {check_id} is upheld" in r.stdout
    r = cli("authenticity", "list", str(sft_project))
    assert r.stdout == "" and "no flagged authenticity checks in project" in r.stderr
    assert "upheld" in cli("authenticity", "list", str(sft_project), "--status", "upheld").stdout
    r = cli("authenticity", "list", str(sft_project), "--status", "bogus")
    assert r.exit_code == 1 and "status" in r.output
    r = cli("audit", "--project", str(sft_project), "--action", "authenticity.decided", "--json")
    assert json.loads(r.stdout)[0]["detail"]["outcome"] == "upheld"


def test_a_models_answer_to_the_prompt_is_fetched_and_answers_are_compared_with_it(cli, sft_project, model_server):
    from sqlalchemy import select

    from expertloop.services import models, uow
    from expertloop.services.authenticity import review_queue
    from expertloop.services.experts import create_expert
    from expertloop.storage.orm import Item, ModelCall

    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        models.add_endpoint(s, None, "local", model_server.base_url, "test-model")
    r = cli("authenticity", "reference", str(sft_project), "--endpoint", "nope")
    assert r.exit_code == 1 and "nope" in r.output
    r = cli("authenticity", "reference", str(sft_project), "--endpoint", "local", "--limit", "5")
    assert r.exit_code == 0 and "stored 5 model answers from local" in r.stdout, r.output
    r = cli("authenticity", "reference", str(sft_project), "--endpoint", "local")
    assert "stored 7 model answers" in r.stdout  # only the items still without one
    with make_sessionmaker(engine)() as s:
        with uow.read(s):
            item = s.execute(select(Item).where(Item.external_id == "q5")).scalar_one()
            calls = s.execute(select(ModelCall.purpose)).scalars().all()
        assert item.meta["model_answer"] == "test-model answer 0: Why did event 5 happen?"
        assert item.meta["model_answer_provenance"]["model"] == "test-model"
        assert calls == ["authenticity_reference"] * 12
        # an answer copied from the model's own answer is flagged (a low length floor: the test
        # model's answers are short)
        e = create_expert(s, Actor(Role.admin), {"name": "dee", "email": "dee@example.org", "hourly_rate_usd": "50"})
        actor = Actor(Role.trainer, e["id"])
        from expertloop.services.consent import agree

        agree(s, actor, sft_project, 1)
        lease = svc.lease_next(s, actor, sft_project)
        answer = lease["item"]["prompt"].replace("Why", "test-model answer 0: Why")
        svc.submit(s, actor, lease["assignment_id"], {"completion": answer}, Settings(authenticity_min_chars=20))
        [flag] = review_queue(s, Actor(Role.admin), sft_project)
        assert flag["reasons"][0]["kind"] == "close_to_model_output" and flag["reasons"][0]["value"] == 1.0
    engine.dispose()
