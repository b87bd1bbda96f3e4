"""Consensus at the overlap experts are bought at: one judgment per item, gold as the evidence.

The demo programme's failure, rebuilt with the factories: a trainer who matched the reference
answer on 10 of 10 gold items is the only one to judge some items; the consensus export must
keep their choice there, and the quality report must rate them above a 5-of-10 trainer. And a
consensus verdict is always one that some counted trainer gave.
"""

from __future__ import annotations

from expertloop.config import Settings
from expertloop.domain.projects import TaskType
from expertloop.services import assignments as svc
from expertloop.services.consensus import latest_consensus, project_judgments
from expertloop.services.exports import iter_records
from expertloop.services.imports import import_items
from expertloop.services.quality import project_quality
from tests import factories as f

N_GOLD = 10


def _work(session, actor, project_id, answer, limit=None) -> list[str]:
    """The actor takes leases until none is left (or ``limit`` regular items); returns the
    external ids of the regular items they judged."""
    regular = []
    while (limit is None or len(regular) < limit) and (lease := svc.lease_next(session, actor, project_id)):
        external_id = f.staff_item(session, lease)["external_id"]
        svc.submit(session, actor, lease["assignment_id"], answer(external_id), Settings())
        if not external_id.startswith("gold-"):
            regular.append(external_id)
    return regular


def test_the_perfect_trainers_single_judgment_is_the_consensus(session):
    # Gold first for everyone (rate 1), then regular items at one judgment each. On the gold
    # items the reference answer is response 0.
    p = f.project(session, "preference", overlap=1, gold_rate={"start": 1.0, "floor": 1.0, "evidence": 1})
    import_items(session, f.ADMIN, p["id"], [
        (i + 1, {**f.item_for("preference", 100 + i), "external_id": f"gold-{i}", "gold": 0})
        for i in range(N_GOLD)])
    ten = f.trainer_actor(f.expert(session, name="Ten of ten"))
    five = f.trainer_actor(f.expert(session, name="Five of ten"))

    def five_answers(external_id):  # half the gold right; response 0 on every other item
        if external_id.startswith("gold-"):
            return {"choice": 0 if int(external_id.split("-")[1]) < N_GOLD // 2 else 1, "strength": 2}
        return {"choice": 0, "strength": 2}

    def ten_answers(external_id):  # every gold item right; on their own items the reference is response 1
        return {"choice": 0 if external_id.startswith("gold-") else 1, "strength": 2}

    f.items(session, p["id"], "preference", 60)
    assert len(_work(session, five, p["id"], five_answers)) == 60
    import_items(session, f.ADMIN, p["id"], [
        (i + 1, f.item_for("preference", 200 + i, responses=[{"text": f"misconception {i}"},
                                                             {"text": f"reference {i}"}]))
        for i in range(4)])
    assert len(_work(session, ten, p["id"], ten_answers)) == 4
    data = project_judgments(session, p["id"], TaskType.preference)
    assert sum(1 for k in data.keys if k in data.gold) == 2 * N_GOLD  # both answered every gold item

    report = project_quality(session, f.ADMIN, p["id"], n_boot=0)
    cards = {c["name"]: c for c in report["trainers"]}
    assert cards["Ten of ten"]["gold"]["correct"] == 10 and cards["Five of ten"]["gold"]["correct"] == 5
    assert cards["Ten of ten"]["reliability"] > cards["Five of ten"]["reliability"]

    chosen = {r["chosen"][-1]["content"] for r in iter_records(session, f.ADMIN, p["id"], "preference",
                                                                consensus=True)}
    for i in range(4):
        assert f"reference {i}" in chosen and f"misconception {i}" not in chosen, i


def test_a_disputed_claim_gets_a_verdict_someone_gave(session):
    p = f.project(session, "factcheck", overlap=4)
    f.items(session, p["id"], "factcheck", 7)
    a, b, c, d = (f.trainer_actor(f.expert(session)) for _ in range(4))
    # item 0, claim 2: A supported, B refuted, C and D not enough info; items 1-6: all agree
    split = {a: "supported", b: "refuted", c: "not_enough_info", d: "not_enough_info"}

    def verdicts(second):
        return {"claims": [{"verdict": "supported", "evidence": []},
                           {"verdict": second, "evidence": [], **({"correction": "x"} if second == "refuted" else {})}]}

    for actor in (a, b, c, d):
        _work(session, actor, p["id"], lambda external_id, actor=actor: verdicts(
            split[actor] if external_id == "factcheck-0" else ("supported", "refuted")[int(external_id[-1]) % 2]))
    # item 7, claim 2, judged by A and B only: supported vs refuted
    import_items(session, f.ADMIN, p["id"], [(1, f.item_for("factcheck", 7))])
    for actor in (a, b):
        _work(session, actor, p["id"], lambda external_id, actor=actor: verdicts(split[actor]))

    data = project_judgments(session, p["id"], TaskType.factcheck)
    consensus = latest_consensus(session, p["id"], TaskType.factcheck)
    given: dict[str, set[str]] = {}
    for key, label in zip(data.keys, data.labels, strict=True):
        given.setdefault(key, set()).add(label)
    assert len(given) == 16 and len(data) == 2 * (4 * 7 + 2)
    disputed = next(k for k, v in given.items() if v == {"supported", "refuted"})
    assert consensus.label(disputed) in {"supported", "refuted"}
    for key, verdicts_given in given.items():
        assert consensus.label(key) in verdicts_given, key
