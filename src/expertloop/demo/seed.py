"""Seed the demo programme into an empty database.

Experts of different degrees, domains and rates; one project of every task type built from the
TruthfulQA subset shipped in ``data/`` (see ``data/ATTRIBUTION.md``): the best answer against a
common misconception (preference, ranking), truthfulness fact-checks and labels with gold, ideal
answers (sft) and rubric scoring; after those six, step-by-step solutions to TruthfulQA questions
to rate (steps), agent runs answering them to grade (trajectory), a preference project on a
signed −3…+3 scale, questions to write rubrics for (rubric_authoring) and three answers per
question to score on HelpSteer2's five attributes (rubric with several answers); with
``EXPERTLOOP_DEMO_MODEL_URL`` set, a live chat with that model (chat). Vetting and routing:
a qualification exam (general knowledge, level 3) with one applicant waiting to take it; the
first preference project uses adaptive overlap,
adaptive gold and a quality floor, and disputed fact-checks escalate to a PhD tier.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.policies import Actor, Role
from ..services import uow
from ..services.exams import create_exam
from ..services.experts import import_experts
from ..services.imports import import_items
from ..services.projects import create_project
from ..services.tokens import issue_token
from ..services.uow import reads
from ..storage.orm import Expert, Project

DATA = Path(__file__).with_name("data")
DEFAULT_DEMO_MODEL = "llama3.2:1b"   # Ollama's name; any model the server at EXPERTLOOP_DEMO_MODEL_URL knows
DEMO_MODEL_ENDPOINT = "demo-model"
DEMO_MARKER = "[demo]"
_OPERATOR = Actor(role=Role.admin)

CATEGORY_DOMAIN = {
    "Law": "law", "Health": "medicine", "Nutrition": "medicine", "Psychology": "science",
    "Science": "science", "Statistics": "science", "Weather": "science", "History": "history",
    "Politics": "history", "Economics": "economics", "Finance": "economics", "Language": "language",
    "Proverbs": "language", "Misquotations": "language",
}

EXPERTS = [
    {"name": "Dr Amara Okafor", "email": "amara@demo.expertloop.dev", "degree": "phd", "licenses": ["md"],
     "domains": {"medicine": 5, "science": 4, "general": 3}, "languages": ["en", "fr"],
     "hourly_rate_usd": "150.00", "country": "NG"},
    {"name": "Prof Lukas Brandt", "email": "lukas@demo.expertloop.dev", "degree": "phd",
     "domains": {"history": 5, "law": 3, "general": 3}, "languages": ["en", "de"],
     "hourly_rate_usd": "120.00", "country": "DE"},
    {"name": "Sofia Ramírez", "email": "sofia@demo.expertloop.dev", "degree": "master", "licenses": ["jd"],
     "domains": {"law": 4, "economics": 3, "general": 3}, "languages": ["en", "es"],
     "hourly_rate_usd": "110.00", "country": "MX"},
    {"name": "Priya Nair", "email": "priya@demo.expertloop.dev", "degree": "master",
     "domains": {"language": 4, "history": 3, "general": 3}, "languages": ["en", "hi"],
     "hourly_rate_usd": "70.00", "country": "IN", "status": "applicant"},
    {"name": "Kenji Watanabe", "email": "kenji@demo.expertloop.dev", "degree": "bachelor",
     "domains": {"science": 3, "general": 2}, "languages": ["en", "ja"], "hourly_rate_usd": "45.00",
     "country": "JP"},
    {"name": "Tom Becker", "email": "tom@demo.expertloop.dev", "degree": "bachelor",
     "domains": {"general": 2}, "languages": ["en"], "hourly_rate_usd": "40.00", "country": "US"},
    {"name": "Dr Elena Petrova", "email": "elena@demo.expertloop.dev", "degree": "phd",
     "domains": {"science": 5, "history": 4, "medicine": 3, "law": 3, "language": 4, "economics": 3,
                 "general": 5}, "languages": ["en", "ru"], "hourly_rate_usd": "180.00", "country": "BG"},
]
TRAINER_EMAIL = "tom@demo.expertloop.dev"
REVIEWER_EMAIL = "elena@demo.expertloop.dev"
APPLICANT_EMAIL = "priya@demo.expertloop.dev"  # must pass the demo exam before a manager can activate her
# Demo-only passwords for browser sign-in (shown on the demo's sign-in page).
DEMO_PASSWORDS = {TRAINER_EMAIL: "demo-trainer-pass", REVIEWER_EMAIL: "demo-reviewer-pass",
                  APPLICANT_EMAIL: "demo-applicant-pass"}

GUIDE_PREFERENCE = """# Which answer is true?

Two answers to a question that many people get wrong. Choose the answer that is **true**, not the
one that sounds familiar. A cautious true answer beats a confident myth.

- **Strength**: 1 = slight, 2 = clear, 3 = one answer is plainly false.
- Rate each criterion 1–5 and give a one-line rationale citing what you know.
"""
GUIDE_FACTCHECK = """# Fact-check the answer

For each claim, pick **supported** (reliable sources agree), **refuted** (reliable sources
contradict it) or **not enough info**. Paste a URL or short quote as evidence and, when refuted,
write the correction.
"""
GUIDE_LABEL = """# Is this answer truthful?

Label `true` when the answer is literally true of the real world, `false` otherwise. Refusals
("I have no comment") count as true.
"""
GUIDE_SFT = """# Write the ideal answer

Write the answer a careful expert would give: true, direct, and without repeating the myth.
One to three sentences.
"""
GUIDE_RANKING = """# Rank the answers

Order the answers from most to least truthful. Ties are not allowed: break them by informativeness.
"""
GUIDE_STEPS = """# Rate each reasoning step

Rate every step of the solution: **+1** correct and moves the solution on, **0** reasonable but
adds nothing, **−1** wrong (a false fact, a bad inference, or an unjustified leap). You may stop
at the first −1; then write the step that should have come instead.
"""
GUIDE_TRAJECTORY = """# Grade the agent's run

Label each of the agent's own steps (thoughts, tool calls, its messages): **correct**,
**incorrect** (a wrong tool or arguments, a claim the tool results do not support, a wrong final
answer) or **unnecessary** (harmless but not needed). Tool results are context: read them, do not
label them. Then tick the failure modes you saw and give a verdict with a one-line rationale.
"""
GUIDE_SIGNED = """# Which answer is true, and by how much?

One score from −3 to +3: negative when answer A is better (−3: A is true and B plainly false),
positive when answer B is better, 0 when they are about the same.
"""
GUIDE_AUTHORING = """# Write the rubric

Write three to eight criteria that decide whether an answer to this question is good. Mark each
**essential** (an answer without it fails), **important**, **optional**, or a **pitfall** (a
common false claim the answer must not make). Use the reference answers, but write criteria that
make sense on their own, and untick "checkable" when a grader needs outside knowledge.
"""
GUIDE_ATTRIBUTES = """# Score each answer on five attributes

Score every answer on its own, 0 (lowest) to 4, on the five attributes of NVIDIA's HelpSteer2:
helpfulness, correctness, coherence, complexity and verbosity. Complexity and verbosity describe
the answer (how much expertise it takes to write, how long it is); they are not better when higher.
"""
ATTRIBUTES = (("helpfulness", "How useful the answer is overall."),
              ("correctness", "Every fact true, nothing important missing."),
              ("coherence", "Clear and consistent."),
              ("complexity", "How much expertise writing it takes (0: anyone, 4: a specialist)."),
              ("verbosity", "How long it is for what was asked (0: terse, 4: very long)."))
GUIDE_RUBRIC = """# Score the answer

Score **truthfulness** (1 = false, 5 = fully true) and **informativeness** (1 = says nothing,
5 = says what matters). Comment on anything a reviewer should know.
"""


@dataclass
class DemoTokens:
    admin: str
    manager: str
    reviewer: str
    trainer: str
    trainer_expert_id: int
    reviewer_expert_id: int


def _questions() -> list[dict]:
    with (DATA / "truthfulqa_subset.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _judged() -> list[dict]:
    with (DATA / "truthfulqa_judged_answers.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _jsonl(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _split(cell: str) -> list[str]:
    return [a.strip() for a in cell.split(";") if a.strip()]


@reads
def is_seeded(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(Project)
                           .where(Project.name.startswith(DEMO_MARKER))).scalar_one() > 0


@reads
def is_empty(session: Session) -> bool:
    return (session.execute(select(func.count()).select_from(Project)).scalar_one() == 0
            and session.execute(select(func.count()).select_from(Expert)).scalar_one() == 0)


def seed_demo(session: Session, *, seed: int = 7, model_url: str | None = None,
              model: str = DEFAULT_DEMO_MODEL) -> None:
    """Create the demo experts, projects and items (call on an empty database). With
    ``model_url`` (an OpenAI-compatible server, ``EXPERTLOOP_DEMO_MODEL_URL``) the last project's
    candidate answers are written by ``model`` there, in a job; without it they are shipped
    pre-written, so the demo works offline."""
    rng = random.Random(seed)
    import_experts(session, _OPERATOR, [(i + 1, e) for i, e in enumerate(EXPERTS)])
    questions = _questions()
    rng.shuffle(questions)

    def project(data: dict) -> int:
        return create_project(session, _OPERATOR, {**data, "name": f"{DEMO_MARKER} {data['name']}"})["id"]

    pref = project({"name": "TruthfulQA: true answer vs common misconception", "task_type": "preference",
                    "guidelines": GUIDE_PREFERENCE, "options": {"criteria": ["truthfulness", "clarity"]},
                    "requirements": {"languages": ["en"], "domains": {"general": 2}},
                    "overlap": {"min": 2, "max": 4, "target_confidence": 0.9},
                    "gold_rate": {"start": 0.2, "floor": 0.05, "evidence": 20},
                    "quality_floor": {"gold_accuracy": 0.6, "min_gold": 10},
                    "lease_minutes": 30, "max_minutes_per_task": 10, "budget_usd": "2500.00"})
    items = []
    for i, q in enumerate(questions[:120]):
        best, wrong = q["Best Answer"], rng.choice(_split(q["Incorrect Answers"]))
        pair = [{"text": best, "model": "reference"}, {"text": wrong, "model": "misconception"}]
        gold = 0
        if rng.random() < 0.5:
            pair.reverse()
            gold = 1
        items.append({"external_id": f"tqa-pref-{i}", "prompt": q["Question"],
                      "responses": pair, **({"gold": gold} if i % 4 == 0 else {}),  # a gold pool of 30
                      "metadata": {"category": q["Category"], "source": q["Source"],
                                   "domain": CATEGORY_DOMAIN.get(q["Category"], "general")}})
    _import(session, pref, items)

    fact = project({"name": "Fact-check answers to tricky questions", "task_type": "factcheck",
                    "guidelines": GUIDE_FACTCHECK, "requirements": {"languages": ["en"], "min_degree": "bachelor"},
                    "tiers": [{"name": "generalist", "requirements": {}, "hourly_rate_usd": "60.00"},
                              {"name": "specialist", "requirements": {"min_degree": "phd"},
                               "hourly_rate_usd": "150.00"}],
                    "escalation_tier": "specialist", "overlap": 2, "lease_minutes": 45,
                    "max_minutes_per_task": 15, "budget_usd": "1500.00"})
    judged = _judged()
    _import(session, fact, [
        {"external_id": f"tqa-fc-{i}", "prompt": j["question"], "response": j["answer"], "claims": [j["answer"]],
         "gold": ["supported" if j["truthful"] else "refuted"]} for i, j in enumerate(judged[:80])])

    label = project({"name": "Truthfulness labels (with gold)", "task_type": "label", "guidelines": GUIDE_LABEL,
                     "options": {"labels": ["true", "false"]}, "requirements": {"languages": ["en"]},
                     "overlap": 3, "lease_minutes": 15, "max_minutes_per_task": 3, "budget_usd": "800.00"})
    _import(session, label, [
        {"external_id": f"tqa-label-{i}", "text": f"Q: {j['question']}\nA: {j['answer']}",
         "gold": "true" if j["truthful"] else "false"} for i, j in enumerate(judged[80:200])])

    sft = project({"name": "Ideal answers to misconception questions", "task_type": "sft", "guidelines": GUIDE_SFT,
                   "requirements": {"languages": ["en"]}, "overlap": 1, "max_minutes_per_task": 10,
                   "hourly_rate_usd": "60.00"})
    _import(session, sft, [{"external_id": f"tqa-sft-{i}", "prompt": q["Question"],
                            "metadata": {"category": q["Category"]}} for i, q in enumerate(questions[120:150])])

    ranking = project({"name": "Rank four answers by truthfulness", "task_type": "ranking",
                       "guidelines": GUIDE_RANKING, "requirements": {"languages": ["en"]}, "overlap": 2})
    rank_items = []
    for i, q in enumerate(questions[150:180]):
        texts = [q["Best Answer"], *_split(q["Correct Answers"])[:1], *_split(q["Incorrect Answers"])[:2]]
        texts = list(dict.fromkeys(texts))
        if len(texts) >= 2:
            rank_items.append({"external_id": f"tqa-rank-{i}", "prompt": q["Question"],
                               "responses": [{"text": t, "model": f"candidate-{k}"} for k, t in enumerate(texts)]})
    _import(session, ranking, rank_items)

    rubric = project({"name": "Score answers on a rubric", "task_type": "rubric", "guidelines": GUIDE_RUBRIC,
                      "options": {"criteria": [
                          {"name": "truthfulness", "scale": [1, 5], "description": "Is every statement true?"},
                          {"name": "informativeness", "scale": [1, 5], "description": "Does it answer the question?"}]},
                      "requirements": {"languages": ["en"]}, "overlap": 2})
    _import(session, rubric, [{"external_id": f"tqa-rubric-{i}", "prompt": j["question"], "response": j["answer"]}
                              for i, j in enumerate(judged[200:230])])
    create_exam(session, _OPERATOR, {
        "name": "General knowledge: myths and facts", "domain": "general", "level": 3, "task_type": "label",
        "options": {"labels": ["true", "false"]}, "pass_mark": 0.7, "time_limit_minutes": 15,
        "retake_cooldown_hours": 24,
        "questions": [{"text": f"Q: {j['question']}\nA: {j['answer']}", "gold": "true" if j["truthful"] else "false"}
                      for j in judged[230:240]]})
    # task types added later come after the first six, so the demo's project ids stay stable
    steps = project({"name": "Rate each reasoning step", "task_type": "steps", "guidelines": GUIDE_STEPS,
                     "options": {"stop_at_first_negative": True}, "requirements": {"languages": ["en"]},
                     "overlap": 2, "max_minutes_per_task": 10})
    _import(session, steps, _jsonl("truthfulqa_step_solutions.jsonl"))
    trajectory = project({"name": "Grade agent runs on TruthfulQA questions", "task_type": "trajectory",
                          "guidelines": GUIDE_TRAJECTORY, "requirements": {"languages": ["en"]}, "overlap": 2,
                          "max_minutes_per_task": 10})
    _import(session, trajectory, _jsonl("truthfulqa_agent_traces.jsonl"))
    signed = project({"name": "TruthfulQA on a signed scale (−3…+3)", "task_type": "preference",
                      "guidelines": GUIDE_SIGNED, "options": {"scale": [-3, 3]},
                      "requirements": {"languages": ["en"]}, "overlap": 2, "max_minutes_per_task": 5})
    signed_items = []
    for i, q in enumerate(questions[180:200]):
        pair = [{"text": q["Best Answer"], "model": "reference"},
                {"text": rng.choice(_split(q["Incorrect Answers"])), "model": "misconception"}]
        if rng.random() < 0.5:
            pair.reverse()
        signed_items.append({"external_id": f"tqa-signed-{i}", "prompt": q["Question"], "responses": pair})
    _import(session, signed, signed_items)
    authoring = project({"name": "Write rubrics for TruthfulQA questions", "task_type": "rubric_authoring",
                         "guidelines": GUIDE_AUTHORING, "options": {"min_criteria": 3},
                         "requirements": {"languages": ["en"]}, "overlap": 1, "max_minutes_per_task": 15})
    _import(session, authoring, [
        {"external_id": f"tqa-author-{i}", "prompt": q["Question"],
         "references": list(dict.fromkeys([q["Best Answer"], *_split(q["Correct Answers"])[:2]])),
         "metadata": {"category": q["Category"]}} for i, q in enumerate(questions[200:215])])
    attributes = project({"name": "Score three answers on five attributes (HelpSteer2 style)", "task_type": "rubric",
                          "guidelines": GUIDE_ATTRIBUTES, "options": {"criteria": [
                              {"name": name, "scale": [0, 4], "description": text} for name, text in ATTRIBUTES]},
                          "requirements": {"languages": ["en"]}, "overlap": 2, "max_minutes_per_task": 10})
    attribute_items = []
    for i, q in enumerate(questions[215:235]):
        texts = list(dict.fromkeys([q["Best Answer"], *_split(q["Incorrect Answers"])[:1],
                                    *_split(q["Correct Answers"])[1:2]]))
        if len(texts) >= 2:
            rng.shuffle(texts)
            attribute_items.append({"external_id": f"tqa-attr-{i}", "prompt": q["Question"],
                                    "responses": [{"text": t, "model": f"candidate-{k}"} for k, t in enumerate(texts)]})
    _import(session, attributes, attribute_items)
    _model_candidates(session, project, questions[235:265], model_url, model)
    # -- live chat, only with a real model (EXPERTLOOP_DEMO_MODEL_URL) --------------------------------
    if model_url:
        chat = project({"name": "Talk with the model: plan it together (live chat)", "task_type": "chat",
                        "guidelines": GUIDE_CHAT, "requirements": {"languages": ["en"]}, "overlap": 1,
                        "max_minutes_per_task": 15,
                        "options": {"model": DEMO_MODEL_ENDPOINT, "candidates_per_turn": 2, "min_turns": 2,
                                    "max_turns": 6,
                                    "system_prompt": "You are a helpful, honest assistant. Answer briefly."}})
        _import(session, chat, [{"external_id": f"chat-{i}", "scenario": s} for i, s in enumerate(CHAT_SCENARIOS)])
    from ..services.auth import set_password

    for email, password in DEMO_PASSWORDS.items():
        with uow.read(session):
            expert_id = session.execute(select(Expert.id).where(Expert.email == email)).scalar_one()
        set_password(session, _OPERATOR, expert_id, password)


GUIDE_CHAT = """# Talk with the model

Write what a real user would write, one message at a time. Each turn the model offers two
answers: **choose** the better one (`1`, `2`), **rate** it (`+`/`-`), and **rewrite** it (`r`) when
neither is what an expert would say: your rewrite is what the model reads next. Edit an earlier
message (`e`) to take the conversation another way. Submit after two to six turns.
"""

CHAT_SCENARIOS = [
    "Plan a three-day trip to Lisbon on a student budget.",
    "You are unsure whether a common health claim you read is true: find out with the assistant.",
    "Get help writing a polite email asking a landlord to fix the heating.",
]


def _model_candidates(session: Session, project: Callable[[dict], int], questions: list[dict], model_url: str | None,
                      model: str) -> None:
    """A preference project whose answers come from a model: live when the demo has a model
    server (two answers per question at temperature 0.9, written by the generation job), else
    pre-written — TruthfulQA's own true and false answers, each recorded as such in
    ``generation`` (no model wrote them)."""
    data = {"name": "Model candidates: which answer is more truthful?", "task_type": "preference",
            "guidelines": GUIDE_PREFERENCE, "options": {"criteria": ["truthfulness", "clarity"]},
            "requirements": {"languages": ["en"]}, "overlap": 2, "max_minutes_per_task": 10}
    if model_url:
        from ..services.models import add_endpoint

        add_endpoint(session, _OPERATOR, DEMO_MODEL_ENDPOINT, model_url, model, max_concurrency=4, timeout_s=120)
        pid = project({**data, "candidates": {"models": [DEMO_MODEL_ENDPOINT], "per_item": 2, "temperature": 0.9,
                                              "max_tokens": 300}})
        _import(session, pid, [{"external_id": f"tqa-model-{i}", "prompt": q["Question"],
                                "metadata": {"category": q["Category"]}} for i, q in enumerate(questions)])
        return
    pid = project(data)
    source = {"model": None, "source": "TruthfulQA (Lin et al., 2022), pre-written; set EXPERTLOOP_DEMO_MODEL_URL "
                                      "to have a model write these answers"}
    items = []
    for i, q in enumerate(questions):
        texts = [q["Best Answer"], _split(q["Incorrect Answers"])[0]]
        if i % 2:
            texts.reverse()
        items.append({"external_id": f"tqa-model-{i}", "prompt": q["Question"],
                      "responses": [{"text": t, "model": "pre-written", "generation": source} for t in texts],
                      "metadata": {"category": q["Category"]}})
    _import(session, pid, items)


def signin_hints() -> list[dict]:
    """The demo experts' sign-in details, shown on the sign-in page of ``serve --demo``."""
    return [{"role": role, "email": email, "password": DEMO_PASSWORDS[email]}
            for role, email in (("trainer", TRAINER_EMAIL), ("reviewer", REVIEWER_EMAIL),
                                ("applicant (take the exam)", APPLICANT_EMAIL))]


def _import(session: Session, project_id: int, items: list[dict]) -> None:
    import_items(session, _OPERATOR, project_id, [(i + 1, item) for i, item in enumerate(items)])


def demo_tokens(session: Session) -> DemoTokens:
    """Fresh tokens for each role of the demo (tokens are stored hashed, so old ones can't be shown)."""
    with uow.read(session):
        trainer = session.execute(select(Expert.id).where(Expert.email == TRAINER_EMAIL)).scalar_one()
        reviewer = session.execute(select(Expert.id).where(Expert.email == REVIEWER_EMAIL)).scalar_one()
    return DemoTokens(
        admin=issue_token(session, Role.admin, label="demo admin"),
        manager=issue_token(session, Role.manager, label="demo manager"),
        reviewer=issue_token(session, Role.reviewer, reviewer, label="demo reviewer"),
        trainer=issue_token(session, Role.trainer, trainer, label="demo trainer"),
        trainer_expert_id=trainer, reviewer_expert_id=reviewer)
