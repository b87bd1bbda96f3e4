"""``chat``: the trainer converses with a configured model, turn by turn.

The trainer writes a user message; the model answers with ``candidates_per_turn`` candidates;
the trainer chooses the best, rates it, rewrites it, or asks for new ones. Editing an earlier
message or answer cuts the conversation there and goes on from it. In ``sft`` mode the result
is the ideal conversation; in ``redteam`` mode the trainer tries to make the model fail and
labels the turn where it did and the failure's category.

The conversation lives in the assignment's server-side draft while the trainer works (so it
survives a reload and what a model wrote cannot be typed in); a submit builds the response from
it (:meth:`Chat.response_with_draft`). Turns are (user message, assistant answer) pairs:

    {"system": str | None,
     "turns": [{"user": str, "candidates": [{"text", "model", "provenance"}], "chosen": int | None,
                "rating": 1..5 | None, "rewrite": str | None}],
     "failure": {"turn": int, "category": str, "note": str | None} | None}

Exports: ``sft`` (the final conversation, rewrites as the assistant's turns), ``preference``
(one pair per turn with a choice or a rewrite) and ``redteam`` (the attack, the failing turn
and its label), all in TRL's conversational layout; which model wrote each turn is in
``metadata.turns``.
"""

from __future__ import annotations

from typing import Any

from ..checks import Checker, join
from ..errors import Problem
from .base import (
    MAX_TEXT,
    ROLES,
    ExportFormat,
    FormFields,
    Obj,
    TaskType,
    TaskTypeSpec,
    form_text,
    int_or_text,
    split_list,
)

MODES = ("sft", "redteam")
MAX_CANDIDATES = 4
MAX_TURNS = 50
RATINGS = (1, 5)
TURN_KEYS = ("user", "candidates", "chosen", "rating", "rewrite")
OPTION_KEYS = ("model", "system_prompt", "candidates_per_turn", "min_turns", "max_turns", "mode",
               "failure_categories", "temperature", "max_tokens")


def final_text(turn: Obj) -> str:
    """What the assistant says in a finished turn: the rewrite, else the chosen candidate (the
    only one when there is one)."""
    if turn.get("rewrite"):
        return str(turn["rewrite"])
    return str(turn["candidates"][_source(turn)]["text"])


def _source(turn: Obj) -> int:
    """The candidate a turn's answer comes from (the chosen one, else the first)."""
    chosen = turn.get("chosen")
    return chosen if isinstance(chosen, int) else 0


def prefix_messages(payload: Obj, system: str | None) -> list[Obj]:
    out = [{"role": "system", "content": system}] if system else []
    return out + [{"role": m["role"], "content": m["content"]} for m in payload.get("messages") or []]


def conversation(payload: Obj, system: str | None, turns: list[Obj]) -> list[Obj]:
    """The conversation so far in TRL's conversational layout, each answer as finally given."""
    out = prefix_messages(payload, system)
    for turn in turns:
        out.append({"role": "user", "content": turn["user"]})
        out.append({"role": "assistant", "content": final_text(turn)})
    return out


def turn_metadata(turns: list[Obj]) -> list[Obj]:
    """Per turn: the model that wrote the answer's source, whether the trainer rewrote it, the
    choice among how many candidates, and the rating."""
    out = []
    for i, t in enumerate(turns):
        src = t["candidates"][_source(t)]
        out.append({"turn": i, "model": src.get("model"), "rewritten": bool(t.get("rewrite")),
                    "chosen": t.get("chosen"), "candidates": len(t["candidates"]), "rating": t.get("rating")})
    return out


class Chat(TaskTypeSpec):
    name = TaskType.chat
    title = "Live chat"
    formats = (ExportFormat.sft, ExportFormat.preference, ExportFormat.redteam)
    keeps_draft = True
    shortcuts = (("m", "Write the next message"), ("Ctrl Enter", "Send the message (in the message box)"),
                 ("1–4", "Choose the best answer of the last turn"), ("r", "Rewrite the last answer"),
                 ("Shift R", "New answers for the last turn (or retry after an error)"),
                 ("e", "Edit your last message"), ("+ / -", "Rate the last answer"))

    # -- options ---------------------------------------------------------------------------
    def check_options(self, c: Checker, options: Obj) -> Obj:
        loc = "options"
        c.text(options, "model", loc, max_len=64)
        c.text(options, "system_prompt", loc, required=False, max_len=MAX_TEXT)
        n = c.integer(options, "candidates_per_turn", loc, lo=1, hi=MAX_CANDIDATES, required=False)
        lo = c.integer(options, "min_turns", loc, lo=1, hi=MAX_TURNS, required=False)
        hi = c.integer(options, "max_turns", loc, lo=1, hi=MAX_TURNS, required=False)
        if lo is not None and hi is not None and hi < lo:
            c.fail(join(loc, "max_turns"), f"must be at least min_turns ({lo}), got {hi}")
        mode = options.get("mode", "sft")
        if mode not in MODES:
            c.fail(join(loc, "mode"), f"must be one of {', '.join(MODES)}; got {mode!r}")
        cats = c.string_list(options, "failure_categories", loc, required=mode == "redteam", min_len=1)
        if cats is not None and len(set(cats)) != len(cats):
            c.fail(join(loc, "failure_categories"), "must not repeat a category")
        temp = options.get("temperature")
        if temp is not None and (isinstance(temp, bool) or not isinstance(temp, int | float) or not 0 <= temp <= 2):
            c.fail(join(loc, "temperature"), f"must be a number from 0 to 2, got {temp!r}")
        c.integer(options, "max_tokens", loc, lo=1, hi=100_000, required=False)
        c.no_unknown(options, OPTION_KEYS, loc)
        out = dict(options)
        out.setdefault("mode", "sft")
        out["candidates_per_turn"] = n or 1
        out["min_turns"] = lo or 1
        out["max_turns"] = hi or max(lo or 1, 10)
        return out

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        out: Obj = {"model": form_text(form, "chat_model").strip(), "mode": form_text(form, "chat_mode") or "sft"}
        if (system := form_text(form, "system_prompt")).strip():
            out["system_prompt"] = system
        for key in ("candidates_per_turn", "min_turns", "max_turns"):
            if (value := int_or_text(form_text(form, key))) is not None:
                out[key] = value
        if cats := split_list(form_text(form, "failure_categories")):
            out["failure_categories"] = cats
        return out

    # -- items -----------------------------------------------------------------------------
    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        c.text(payload, "scenario", loc, required="messages" not in payload, max_len=MAX_TEXT)
        messages = payload.get("messages")
        if messages is not None:
            where = join(loc, "messages")
            if not isinstance(messages, list):
                c.fail(where, "must be a list of {role, content}")
            else:
                for i, msg in enumerate(messages):
                    mloc = join(where, i)
                    if not isinstance(msg, dict):
                        c.fail(mloc, "must be an object with role and content")
                        continue
                    if msg.get("role") not in ROLES:
                        c.fail(join(mloc, "role"), f"must be one of {', '.join(ROLES)}")
                    c.text(msg, "content", mloc, max_len=MAX_TEXT)
                    c.no_unknown(msg, ("role", "content"), mloc)
        c.no_unknown(payload, ("scenario", "messages"), loc)

    # -- responses -------------------------------------------------------------------------
    def response_with_draft(self, response: Obj, draft: Obj | None) -> Obj:
        draft = draft or {}
        out: Obj = {k: v for k, v in (response or {}).items() if k != "failure"} if isinstance(response, dict) else {}
        out["system"] = draft.get("system")
        out["turns"] = [{k: t.get(k) for k in TURN_KEYS} | {"status": t.get("status", "ready")}
                        for t in draft.get("turns") or []]
        failure = response.get("failure", draft.get("failure")) if isinstance(response, dict) else draft.get("failure")
        out["failure"] = failure
        return out

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("system", "turns", "failure"), loc)
        system = c.text(obj, "system", loc, required=False, max_len=MAX_TEXT)
        turns_loc = join(loc, "turns")
        raw = obj.get("turns")
        if not isinstance(raw, list):
            c.fail(turns_loc, "must be a list of turns")
            raw = []
        lo, hi = options.get("min_turns", 1), options.get("max_turns", MAX_TURNS)
        if raw and len(raw) < lo:
            c.fail(turns_loc, f"needs at least {lo} turns, got {len(raw)}")
        elif not raw:
            c.fail(turns_loc, f"needs at least {lo} turn{'s' if lo != 1 else ''}: write a message first")
        if len(raw) > hi:
            c.fail(turns_loc, f"must hold at most {hi} turns, got {len(raw)}")
        turns = [self._check_turn(c, t, join(turns_loc, i)) for i, t in enumerate(raw)]
        failure = self._check_failure(c, obj.get("failure"), options, len(turns), join(loc, "failure"))
        return {"system": system, "turns": [t for t in turns if t is not None], "failure": failure}

    def _check_turn(self, c: Checker, turn: Any, loc: str) -> Obj | None:
        if not isinstance(turn, dict):
            c.fail(loc, "must be an object")
            return None
        status = turn.get("status", "ready")
        if status == "pending":
            c.fail(loc, "the model's answer is not in yet: wait for it")
            return None
        if status == "error":
            c.fail(loc, "the model did not answer: retry the turn, or edit your message")
            return None
        c.no_unknown(turn, (*TURN_KEYS, "status"), loc)
        user = c.text(turn, "user", loc, max_len=MAX_TEXT)
        cands = turn.get("candidates")
        if not isinstance(cands, list) or not 1 <= len(cands) <= MAX_CANDIDATES:
            c.fail(join(loc, "candidates"), f"must hold 1 to {MAX_CANDIDATES} answers")
            return None
        clean = []
        for i, cand in enumerate(cands):
            cloc = join(join(loc, "candidates"), i)
            if not isinstance(cand, dict):
                c.fail(cloc, "must be an object with text")
                continue
            c.no_unknown(cand, ("text", "model", "provenance"), cloc)
            text = c.text(cand, "text", cloc, allow_empty=True, max_len=MAX_TEXT)
            model = c.text(cand, "model", cloc, required=False, max_len=200)
            prov = cand.get("provenance")
            if prov is not None:
                c.mapping(prov, join(cloc, "provenance"))
                c.json(prov, join(cloc, "provenance"))
            clean.append({"text": text or "", "model": model, "provenance": prov})
        chosen = turn.get("chosen")
        if chosen is not None:
            chosen = c.int_value(chosen, join(loc, "chosen"), lo=0, hi=len(cands) - 1)
        rating = turn.get("rating")
        if rating is not None:
            rating = c.int_value(rating, join(loc, "rating"), lo=RATINGS[0], hi=RATINGS[1])
        rewrite = c.text(turn, "rewrite", loc, required=False, max_len=MAX_TEXT)
        if len(cands) > 1 and chosen is None and not rewrite:
            c.fail(join(loc, "chosen"), "choose the best answer, or rewrite it")
        return {"user": user or "", "candidates": clean, "chosen": chosen, "rating": rating, "rewrite": rewrite}

    def _check_failure(self, c: Checker, failure: Any, options: Obj, n_turns: int, loc: str) -> Obj | None:
        if failure is None:
            return None
        if options.get("mode", "sft") != "redteam":
            c.fail(loc, "is only recorded in redteam projects")
            return None
        if not isinstance(failure, dict):
            c.fail(loc, "must be an object with turn and category")
            return None
        c.no_unknown(failure, ("turn", "category", "note"), loc)
        turn = c.integer(failure, "turn", loc, lo=0, hi=max(n_turns - 1, 0))
        cats = options.get("failure_categories") or []
        category = failure.get("category")
        if category not in cats:
            c.fail(join(loc, "category"), f"must be one of {', '.join(cats)}; got {category!r}")
        note = c.text(failure, "note", loc, required=False, allow_empty=True, max_len=MAX_TEXT)
        return {"turn": turn, "category": category, "note": note or None}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        """The conversation itself is the server's draft; the form adds the red-team label."""
        turn = form_text(form, "failure_turn").strip()
        if not turn:
            return {}
        return {"failure": {"turn": int_or_text(turn), "category": form_text(form, "failure_category"),
                            "note": form_text(form, "failure_note") or None}}

    # -- exports ---------------------------------------------------------------------------
    def left_out_reason(self, fmt: ExportFormat, response: Obj) -> str | None:
        if fmt == ExportFormat.preference and not any(self._pair(t) for t in response["turns"]):
            return "no_preference"
        return None

    @staticmethod
    def _pair(turn: Obj) -> tuple[str, str | None, str, str | None, str] | None:
        """(chosen text, its model, rejected text, its model, why) of a turn, or None."""
        cands = turn["candidates"]
        src = _source(turn)
        if turn.get("rewrite"):
            return turn["rewrite"], None, cands[src]["text"], cands[src].get("model"), "rewrite"
        if len(cands) > 1 and isinstance(turn.get("chosen"), int):
            other = next(i for i in range(len(cands)) if i != src)
            return (cands[src]["text"], cands[src].get("model"), cands[other]["text"], cands[other].get("model"),
                    "choice")
        return None

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        system, turns = response.get("system"), response["turns"]
        meta: Obj = {**metadata, "turns": turn_metadata(turns)}
        if fmt == ExportFormat.sft:
            return [{"messages": conversation(payload, system, turns), "metadata": meta}]
        if fmt == ExportFormat.preference:
            out: list[Obj] = []
            for i, turn in enumerate(turns):
                pair = self._pair(turn)
                if pair is None:
                    continue
                chosen, chosen_model, rejected, rejected_model, why = pair
                prompt = [*conversation(payload, system, turns[:i]), {"role": "user", "content": turn["user"]}]
                out.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
                            "rejected": [{"role": "assistant", "content": rejected}],
                            "metadata": {**meta, "turn": i, "source": why, "chosen_model": chosen_model,
                                         "rejected_model": rejected_model, "rating": turn.get("rating")}})
            return out
        failure = response.get("failure")
        messages = conversation(payload, system, turns)
        failing, corrected = None, None
        if failure is not None:
            t = turns[failure["turn"]]
            failing = t["candidates"][_source(t)]["text"]
            corrected = t.get("rewrite")
            at = len(prefix_messages(payload, system)) + 2 * failure["turn"] + 1
            messages[at] = {"role": "assistant", "content": failing}  # what the model actually said
        return [{"messages": messages, "failure_turn": failure["turn"] if failure else None,
                 "failure_category": failure["category"] if failure else None,
                 "failure_note": failure["note"] if failure else None,
                 "failure_response": failing, "corrected_response": corrected, "metadata": meta}]


SPEC = Chat()
