"""Live chat as use cases: the trainer's actions on a conversation, and the model turn a job
generates between units of work.

The conversation is the assignment's server-side ``draft`` (see ``domain/tasks/chat.py`` for its
turns). Each action (:func:`act`) is one write unit on the trainer's own live assignment: send
a message (``at`` an earlier turn cuts the conversation there), ask for new answers (also the
retry after a model error), choose / rate / rewrite an answer, label a red-team failure. An
action that needs the model marks the turn ``pending`` with a fresh ``nonce`` and queues a
``chat_turn`` job in the same unit; the job (:func:`generate_turn`) reads the conversation in
a read unit, calls the model with no transaction open, and stores the candidates only if the
turn still waits for that nonce (the trainer may have edited the conversation meanwhile). A
model error is stored on the turn and shown with a retry: the trainer's text is never lost.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import llm
from ..domain.assignments import AssignmentState
from ..domain.checks import text_problem
from ..domain.errors import Conflict, ExpertloopError, NotFound, PermissionDenied, ValidationFailed
from ..domain.policies import Actor, can_see_assignment, can_work_on
from ..domain.tasks import task_type
from ..domain.tasks.base import MAX_TEXT
from ..domain.tasks.chat import RATINGS, conversation, final_text
from ..storage.db import is_sqlite
from ..storage.orm import Assignment, Item, Project
from . import jobs, models
from .assignments import _revive_or_fail
from .clock import utcnow
from .uow import reads, writes

CHAT_TURN = "chat_turn"
ACTIONS = ("send", "regenerate", "decide", "failure")
MAX_ERROR = 500


def _empty(project: Project) -> dict:
    return {"system": (project.options or {}).get("system_prompt") or None, "turns": [], "failure": None, "seq": 0}


def _load(session: Session, actor: Actor, assignment_id: int, *, lock: bool) -> tuple[Assignment, Project]:
    stmt = select(Assignment).where(Assignment.id == assignment_id).execution_options(populate_existing=True)
    if lock and not is_sqlite(session):
        stmt = stmt.with_for_update()
    a = session.execute(stmt).scalar_one_or_none()
    if a is None or not can_see_assignment(actor, a.expert_id):
        raise NotFound(f"assignment {assignment_id} not found")
    project = session.get_one(Project, a.project_id)
    if not task_type(project.task_type).keeps_draft:
        raise NotFound(f"assignment {assignment_id} is not a live chat")
    return a, project


def view(a: Assignment, project: Project, *, staff: bool = False) -> dict:
    """The conversation as the page shows it: model names withheld from trainers."""
    draft = a.draft or _empty(project)
    opts = project.options or {}
    turns = []
    for i, t in enumerate(draft["turns"]):
        cands = [{"index": j, "text": c["text"], **({"model": c.get("model")} if staff else {})}
                 for j, c in enumerate(t.get("candidates") or [])]
        turns.append({"index": i, "user": t["user"], "status": t.get("status", "ready"), "error": t.get("error"),
                      "candidates": cands, "chosen": t.get("chosen"), "rating": t.get("rating"),
                      "rewrite": t.get("rewrite")})
    pending = any(t["status"] == "pending" for t in turns)
    return {"assignment_id": a.id, "state": a.state, "mode": opts.get("mode", "sft"),
            "system_prompt": draft.get("system"), "min_turns": opts.get("min_turns", 1),
            "max_turns": opts.get("max_turns", 10), "candidates_per_turn": opts.get("candidates_per_turn", 1),
            "failure_categories": opts.get("failure_categories") or [], "turns": turns,
            "failure": draft.get("failure"), "pending": pending}


@reads
def get_chat(session: Session, actor: Actor, assignment_id: int) -> dict:
    a, project = _load(session, actor, assignment_id, lock=False)
    return view(a, project, staff=actor.is_staff)


def _text(value: Any, loc: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("is required: a non-empty string", loc=loc)
    if msg := text_problem(value):
        raise ValidationFailed(msg, loc=loc)
    if len(value) > MAX_TEXT:
        raise ValidationFailed(f"must be at most {MAX_TEXT} characters, got {len(value)}", loc=loc)
    return value.replace("\r\n", "\n")


def _index(value: Any, loc: str, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
        raise ValidationFailed(f"must be a turn number from 0 to {hi}, got {value!r}", loc=loc)
    return value


def _decided(turn: dict) -> bool:
    return turn.get("status") == "ready" and (len(turn["candidates"]) <= 1 or turn.get("chosen") is not None
                                              or bool(turn.get("rewrite")))


def _cut(draft: dict, at: int) -> int:
    """Drop turns from ``at`` on (and a failure label among them); how many were dropped."""
    dropped = len(draft["turns"]) - at
    del draft["turns"][at:]
    if draft.get("failure") and draft["failure"].get("turn", 0) >= at:
        draft["failure"] = None
    return max(dropped, 0)


def _ask(session: Session, a: Assignment, draft: dict, index: int, now: datetime) -> None:
    """Mark turn ``index`` as waiting for the model and queue the job that asks it."""
    draft["seq"] = int(draft.get("seq", 0)) + 1
    turn = draft["turns"][index]
    turn.update(candidates=[], chosen=None, rating=None, rewrite=None, status="pending", error=None,
                nonce=draft["seq"])
    jobs.enqueue(session, CHAT_TURN, project_id=a.project_id, max_attempts=3, now=now,
                 payload={"assignment_id": a.id, "turn": index, "nonce": draft["seq"]})


@writes
def act(session: Session, actor: Actor, assignment_id: int, action: Any, *, now: datetime | None = None) -> dict:
    """Apply one trainer action (``{"action": "send" | "regenerate" | "decide" | "failure", …}``)
    to the trainer's own live chat; returns the conversation as the page shows it."""
    now = now or utcnow()
    a, project = _load(session, actor, assignment_id, lock=True)
    if not can_work_on(actor, a.expert_id):
        raise PermissionDenied("only the expert holding this assignment may work on it")
    if not isinstance(action, dict):
        raise ValidationFailed("must be an object such as {\"action\": \"send\", \"text\": \"…\"}", loc="body")
    kind = action.get("action")
    if kind not in ACTIONS:
        raise ValidationFailed(f"must be one of {', '.join(ACTIONS)}; got {kind!r}", loc="action")
    if a.state != AssignmentState.leased.value:
        raise Conflict(f"assignment {a.id} is {a.state}")
    _revive_or_fail(session, a, project, now)
    opts = project.options or {}
    draft = copy.deepcopy(a.draft) if a.draft else _empty(project)
    turns = draft["turns"]
    allowed = {"send": ("text", "at"), "regenerate": ("turn",), "decide": ("turn", "chosen", "rating", "rewrite"),
               "failure": ("turn", "category", "note")}[kind]
    for key in action:
        if key != "action" and key not in allowed:
            raise ValidationFailed(f"unknown field for {kind} (expected one of: {', '.join(allowed)})", loc=key)
    if kind == "send":
        text = _text(action.get("text"), "text")
        at = len(turns) if action.get("at") is None else _index(action.get("at"), "at", len(turns))
        for i, t in enumerate(turns[:at]):
            if not _decided(t):
                raise Conflict(f"turn {i + 1}: " + ("wait for the model's answer" if t.get("status") == "pending" else
                                                    "retry the model's answer or edit your message"
                                                    if t.get("status") == "error" else
                                                    "choose the best answer, or rewrite it, before you go on"))
        if at >= opts.get("max_turns", 10):
            raise Conflict(f"the conversation has reached its {opts.get('max_turns', 10)} turns")
        _cut(draft, at)
        turns.append({"user": text})
        _ask(session, a, draft, at, now)
    elif kind == "regenerate":
        if not turns:
            raise Conflict("there is no turn to answer again yet")
        i = _index(action.get("turn", len(turns) - 1), "turn", len(turns) - 1)
        _cut(draft, i + 1)  # a pending turn may be asked again too: the old answer's nonce is void
        _ask(session, a, draft, i, now)
    elif kind == "decide":
        if not turns:
            raise Conflict("there is no answer to decide on yet")
        i = _index(action.get("turn", len(turns) - 1), "turn", len(turns) - 1)
        t = turns[i]
        if t.get("status") != "ready":
            raise Conflict(f"turn {i + 1}: the model's answer is not in")
        before = final_text(t)
        if "chosen" in action:
            chosen = action["chosen"]
            if chosen is not None:
                chosen = _index(chosen, "chosen", len(t["candidates"]) - 1)
            t["chosen"] = chosen
        if "rating" in action:
            rating = action["rating"]
            if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)
                                       or not RATINGS[0] <= rating <= RATINGS[1]):
                raise ValidationFailed(f"must be a whole number from {RATINGS[0]} to {RATINGS[1]}, got {rating!r}",
                                       loc="rating")
            t["rating"] = rating
        if "rewrite" in action:
            rewrite = action["rewrite"]
            t["rewrite"] = None if rewrite is None or (isinstance(rewrite, str) and not rewrite.strip()) \
                else _text(rewrite, "rewrite")
        if final_text(t) != before:  # what the model will read next changed: go on from here
            _cut(draft, i + 1)
    else:
        if opts.get("mode", "sft") != "redteam":
            raise Conflict("failures are labelled in redteam projects only")
        if action.get("turn") is None:
            draft["failure"] = None
        else:
            i = _index(action.get("turn"), "turn", len(turns) - 1) if turns else _index(action["turn"], "turn", -1)
            category = action.get("category")
            if category not in (opts.get("failure_categories") or []):
                raise ValidationFailed(f"must be one of {', '.join(opts.get('failure_categories') or [])}; "
                                       f"got {category!r}", loc="category")
            note = action.get("note")
            draft["failure"] = {"turn": i, "category": category,
                                "note": None if note is None or note == "" else _text(note, "note")}
    a.draft = draft
    return view(a, project, staff=actor.is_staff)


# -- the job -------------------------------------------------------------------------------------
@reads
def _request(session: Session, assignment_id: int, index: int, nonce: int) -> dict | None:
    """What to ask the model for turn ``index``, or None when the turn no longer waits for it."""
    a = session.get(Assignment, assignment_id)
    if a is None or a.state != AssignmentState.leased.value:
        return None
    draft = a.draft or {}
    turns = draft.get("turns") or []
    if index >= len(turns) or turns[index].get("nonce") != nonce or turns[index].get("status") != "pending":
        return None
    project = session.get_one(Project, a.project_id)
    item = session.get_one(Item, a.item_id)
    opts = project.options or {}
    messages = conversation(item.payload, draft.get("system"), turns[:index])
    messages.append({"role": "user", "content": turns[index]["user"]})
    return {"model": opts.get("model"), "messages": messages, "n": opts.get("candidates_per_turn", 1),
            "temperature": opts.get("temperature"), "max_tokens": opts.get("max_tokens"),
            "project_id": project.id}


@writes
def _store(session: Session, assignment_id: int, index: int, nonce: int, *, candidates: list[dict] | None = None,
           error: str | None = None) -> bool:
    stmt = select(Assignment).where(Assignment.id == assignment_id).execution_options(populate_existing=True)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    a = session.execute(stmt).scalar_one_or_none()
    if a is None or not a.draft:
        return False
    draft = copy.deepcopy(a.draft)
    turns = draft.get("turns") or []
    if index >= len(turns) or turns[index].get("nonce") != nonce or turns[index].get("status") != "pending":
        return False  # the trainer moved on: this answer is for a conversation that is gone
    if error is not None:
        turns[index].update(status="error", error=error[:MAX_ERROR])
    else:
        turns[index].update(status="ready", error=None, candidates=candidates)
    a.draft = draft
    return True


def generate_turn(session: Session, job: dict) -> dict:
    """The ``chat_turn`` job: ask the model for one turn's candidates, outside any transaction."""
    payload = job.get("payload") or {}
    aid, index, nonce = payload.get("assignment_id"), payload.get("turn"), payload.get("nonce")
    if not isinstance(aid, int) or not isinstance(index, int) or not isinstance(nonce, int):
        raise ValueError("a chat_turn job needs assignment_id, turn and nonce")
    req = _request(session, aid, index, nonce)
    if req is None:
        return {"skipped": "the turn no longer waits for this answer"}
    try:
        completions = models.call(session, req["model"], req["messages"], purpose="chat", project_id=req["project_id"],
                                  job_id=job.get("id"), n=req["n"], temperature=req["temperature"],
                                  max_tokens=req["max_tokens"])
    except llm.ModelError as exc:
        status = f" (HTTP {exc.status})" if exc.status else ""
        _store(session, aid, index, nonce, error=f"The model did not answer{status} after {exc.attempts} "
                                                 f"attempt{'s' if exc.attempts != 1 else ''}. Your text is kept: "
                                                 "retry, or edit your message.")
        return {"error": exc.message}
    except ExpertloopError as exc:  # the endpoint is not registered (any more)
        _store(session, aid, index, nonce, error="The project's model is not available; tell the project's "
                                                 "manager. Your text is kept.")
        return {"error": exc.message}
    candidates = [{"text": c.text, "model": c.model or req["model"], "provenance": c.provenance()} for c in completions]
    stored = _store(session, aid, index, nonce, candidates=candidates)
    return {"candidates": len(candidates), "stored": stored}
