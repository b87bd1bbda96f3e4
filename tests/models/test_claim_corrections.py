"""Trainers correcting a model's claim split before judging (edit, split, merge, add, delete):
the judgment keeps the final claims and their provenance, ``ai_assistance`` records the split
shown and what was done to it, consensus stays per claim (a kept claim by its number, a
corrected one by its text), and exports show the final claims."""

from __future__ import annotations

import json

import pytest

from expertloop.config import Settings
from expertloop.domain.checks import Checker
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.tasks import claim_edits
from expertloop.domain.tasks.factcheck import SPEC
from expertloop.services import assignments, models
from expertloop.services.factscore import factscore
from expertloop.services.imports import import_items
from expertloop.services.reports import quality_report
from tests.factories import ADMIN, auth, expert, project, run_jobs, token, trainer_actor

PROPOSED = ["Paris is in France.", "The Seine runs through it and it has 9 bridges.", "Its mayor is elected."]

def _check(response: dict) -> tuple[dict, list[str]]:
    c = Checker()
    out = SPEC.check_response(c, response, {}, {"prompt": "p", "response": "r", "claims": PROPOSED}, "response")
    return out, [f"{p.loc}: {p.msg}" for p in c.problems]

def test_a_corrected_split_gets_its_provenance():
    out, problems = _check({"claims": [
        {"text": "paris is in France", "from": [0], "verdict": "supported"},               # kept (case, period)
        {"text": "The Seine runs through it.", "from": [1], "verdict": "supported"},       # split ...
        {"text": "It has 37 bridges.", "from": [1], "verdict": "refuted", "correction": "37"},  # ... in two
        {"text": "It hosted the 2024 Olympics.", "verdict": "supported"}]})                # added; 2 deleted
    assert problems == []
    assert [c["origin"] for c in out["claims"]] == ["proposed", "split", "split", "added"]
    finals = claim_edits.final_claims(PROPOSED, out)
    assert finals[0]["id"] == "p0" and all(c["id"].startswith("t") for c in finals[1:])
    assert claim_edits.changes(PROPOSED, out) == {"proposed": 1, "edited": 0, "split": 2, "merged": 0,
                                                  "added": 1, "deleted": 1}
    parts = dict(SPEC.categorical_answers(out))
    assert parts[0] == "supported" and parts[claim_edits.text_part("it has 37 bridges")] == "refuted"
    # gold answers the proposed claims: the kept one is scored, the split and the deleted ones are missed
    gold = {"claims": [{"verdict": "supported"}, {"verdict": "refuted"}, {"verdict": "supported"}]}
    score = SPEC.gold_score(out, gold)
    assert (score.parts, score.correct) == (3, 1)


def test_editing_every_claim_does_not_escape_gold_scoring():
    out, problems = _check({"claims": [
        {"text": f"Indeed, {text}", "from": [i], "verdict": verdict}
        for i, (text, verdict) in enumerate(zip(PROPOSED, ["supported", "supported", "refuted"], strict=True))]})
    assert problems == [] and {c["origin"] for c in out["claims"]} == {"edited"}
    gold = {"claims": [{"verdict": "supported"}, {"verdict": "refuted"}, {"verdict": "refuted"}]}
    score = SPEC.gold_score(out, gold)
    assert (score.parts, score.correct) == (3, 2)  # each edited claim is scored on the claim it came from


def test_form_digits_python_refuses_are_not_a_server_error():
    item = {"prompt": "p", "response": "r", "claims": PROPOSED}
    odd = {"claim-count": "²", "verdict-0": "supported"}
    assert len(SPEC.response_from_form(odd, {}, item)["claims"]) == len(PROPOSED)  # not a corrected split
    rows = SPEC.response_from_form({"claim-count": "1", "claim-text-0": "x", "claim-from-0": "1,²," + "9" * 5000},
                                   {}, item)
    assert rows["claims"][0]["from"] == [1]

def test_merge_edit_and_an_unchanged_split_stored_plainly():
    out, problems = _check({"claims": [
        {"text": "Paris, in France, has the Seine and 9 bridges.", "from": [0, 1], "verdict": "supported"},
        {"text": "Its mayor is elected directly.", "from": [2], "verdict": "refuted"}]})
    assert problems == [] and [c["origin"] for c in out["claims"]] == ["merged", "edited"]
    same, problems = _check({"claims": [{"text": t, "from": [i], "verdict": "supported"}
                                        for i, t in enumerate(PROPOSED)]})
    assert problems == [] and same == {"claims": [{"verdict": "supported", "evidence": [], "correction": None}] * 3}
    # a kept claim needs no "from": its text names it
    out, problems = _check({"claims": [{"text": PROPOSED[2], "verdict": "supported"}]})
    assert problems == [] and out["claims"][0]["origin"] == "proposed" and out["claims"][0]["from"] == [2]

@pytest.mark.parametrize(("claims", "where"), [
    ([{"text": "A.", "from": [7], "verdict": "supported"}], "response.claims[0].from"),
    ([{"text": "A.", "from": "0", "verdict": "supported"}], "response.claims[0].from"),
    ([{"text": "A.", "verdict": "supported"}, {"text": "a", "verdict": "refuted"}], "response.claims[1].text"),
    ([{"text": " ", "verdict": "supported"}], "response.claims[0].text"),
    ([{"text": "A.", "verdict": "maybe"}], "response.claims[0].verdict"),
    ([{"from": [0], "verdict": "supported"}] * 3, "response.claims[0]"),
    ([], "response.claims"),
])
def test_bad_corrections_name_the_field(claims, where):
    _, problems = _check({"claims": claims})
    assert any(p.startswith(where) for p in problems), problems

@pytest.fixture()
def split_project(session, fresh_model_server):
    models.add_endpoint(session, ADMIN, "splitter", fresh_model_server.base_url, "split-weights")
    p = project(session, "factcheck", claims={"model": "splitter"}, overlap=2)
    import_items(session, ADMIN, p["id"], [
        (1, {"external_id": "paris", "prompt": "Paris?", "model": "m-good",
             "response": "Paris is in France. The Seine runs through it and it has 9 bridges. Its mayor is elected."})])
    run_jobs(session)
    return p

def test_two_trainers_correct_the_split_over_the_api(client, session, split_project, tmp_path):
    import datasets

    p = split_project
    admin = auth(token(session, "admin"))
    trainers = [auth(token(session, "trainer", expert(session)["id"])) for _ in range(2)]
    leases = [client.post(f"/api/v1/projects/{p['id']}/assignments/next", headers=t).json() for t in trainers]
    assert leases[0]["item"]["claims"] == PROPOSED
    assert leases[0]["ai_suggestion"] == {"kind": "claims", "claims": PROPOSED}   # no model name shown
    same_new_claim = {"text": "It has 37 bridges.", "from": [1], "verdict": "refuted", "correction": "37 bridges"}
    bodies = [
        {"claims": [{"text": PROPOSED[0], "from": [0], "verdict": "supported"},
                    {"text": "The Seine runs through it.", "from": [1], "verdict": "supported"},
                    same_new_claim]},                                             # 2 split, 3 deleted
        {"claims": [{"text": PROPOSED[0], "from": [0], "verdict": "supported"},
                    {**same_new_claim, "text": "it has 37 bridges"},              # the same correction
                    {"text": PROPOSED[2], "from": [2], "verdict": "not_enough_info"},
                    {"text": "Its river floods sometimes.", "from": [], "verdict": "supported"}]},
    ]
    bad = client.post(f"/api/v1/assignments/{leases[0]['assignment_id']}/submit", headers=trainers[0],
                      json={"response": {"claims": [{"text": "x", "from": [9], "verdict": "supported"}]}})
    assert bad.status_code == 422 and "response.claims[0].from" in bad.text
    for t, lease, body in zip(trainers, leases, bodies, strict=True):
        r = client.post(f"/api/v1/assignments/{lease['assignment_id']}/submit", headers=t, json={"response": body})
        assert r.status_code == 200, r.text
    run_jobs(session)

    r = client.get(f"/api/v1/projects/{p['id']}/export", params={"format": "factcheck"}, headers=admin)
    records = [json.loads(line) for line in r.text.splitlines()]
    first = records[0]
    assert [c["claim"] for c in first["claims"]] == [PROPOSED[0], "The Seine runs through it.", "It has 37 bridges."]
    assert [c["origin"] for c in first["claims"]] == ["proposed", "split", "split"]
    assert first["proposed_claims"] == PROPOSED and first["claim_changes"]["deleted"] == 1
    assist = first["metadata"]["ai_assistance"]
    assert assist["kind"] == "claims" and assist["action"] == "edited" and assist["distance_unit"] == "claims"
    split = assist["claim_split"]
    assert split["model"] == "split-weights" and split["endpoint"] == "splitter" and split["claims"] == PROPOSED
    assert split["edit_distance"] == 2 and split["changes"]["split"] == 2   # one changed, one inserted, one removed
    # consensus per claim: the kept claim and the shared correction pool both verdicts
    bridges = next(c for c in first["claims"] if c["claim"] == "It has 37 bridges.")
    assert bridges["consensus_distribution"]["refuted"] == 1.0 and bridges["id"] == records[1]["claims"][1]["id"]

    r = client.get(f"/api/v1/projects/{p['id']}/export", params={"format": "factcheck", "consensus": "true"},
                   headers=admin)
    [item] = [json.loads(line) for line in r.text.splitlines()]
    by_text = {c["claim"]: c for c in item["claims"]}
    assert by_text[PROPOSED[0]]["judged_by"] == 2 and by_text[PROPOSED[0]]["origin"] == "proposed"
    assert by_text["It has 37 bridges."]["judged_by"] == 2 and by_text["It has 37 bridges."]["verdict"] == "refuted"
    assert by_text["Its river floods sometimes."]["judged_by"] == 1
    assert PROPOSED[1] not in by_text                                             # everyone corrected it
    assert [c["id"] for c in item["claims"]][:2] == ["p0", "p2"]                 # proposed claims first

    path = tmp_path / "fc.jsonl"
    path.write_text(client.get(f"/api/v1/projects/{p['id']}/export", params={"format": "factcheck"},
                               headers=admin).text)
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == 2 and ds[0]["metadata"]["ai_assistance"]["claim_split"]["action"] == "edited"

    scores = factscore(session, ADMIN, p["id"])["models"]
    assert scores[0]["model"] == "m-good" and scores[0]["claims_judged"] == 5   # the final claims
    entries = quality_report(session, ADMIN, p["id"], fresh=True)["consensus"]
    assert sorted(e["part"] for e in entries if e["part"] is not None) == [0, 2]
    assert [e["claim_id"][0] for e in entries if e["part"] is None] == ["t"] * 3   # the claims trainers wrote
    from tests.web.helpers import PageClient

    page = PageClient(client, token(session, "manager"), "/manage").get(f"/manage/projects/{p['id']}/quality")
    assert page.status_code == 200
    assert any(f">{e['claim_id']}<" in page.text for e in entries if e["part"] is None), "claims named by id"

def test_a_kept_split_is_accepted_and_a_replaced_one_discarded(session, split_project):
    p = split_project
    actors = [trainer_actor(expert(session)) for _ in range(2)]
    leases = [assignments.lease_next(session, a, p["id"]) for a in actors]
    kept = {"claims": [{"verdict": "supported"}] * 3}
    replaced = {"claims": [{"text": "A claim of my own.", "verdict": "supported"}]}
    a0 = assignments.submit(session, actors[0], leases[0]["assignment_id"], kept, Settings())
    a1 = assignments.submit(session, actors[1], leases[1]["assignment_id"], replaced, Settings())

    views = [assignments.get_assignment(session, ADMIN, x["assignment_id"]) for x in (a0, a1)]
    assert views[0]["ai_assistance"]["action"] == "accepted" and views[0]["ai_assistance"]["edit_distance"] == 0
    assert views[1]["ai_assistance"]["claim_split"]["action"] == "discarded"
    assert views[1]["ai_assistance"]["claim_split"]["changes"]["deleted"] == 3

def test_imported_claims_show_no_split_suggestion(session):
    p = project(session, "factcheck")
    import_items(session, ADMIN, p["id"], [(1, {"prompt": "Q", "response": "R.", "claims": ["R."]})])
    actor = trainer_actor(expert(session))
    lease = assignments.lease_next(session, actor, p["id"])
    assert lease["ai_suggestion"] is None
    with pytest.raises(ValidationFailed, match=r"claims\[0\]\.from"):
        assignments.submit(session, actor, lease["assignment_id"],
                           {"claims": [{"text": "R.", "from": [4], "verdict": "supported"}]}, Settings())
