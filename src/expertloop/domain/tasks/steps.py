"""``steps``: process-reward labels. An item is a problem and a solution split into steps; the
trainer rates each step +1 (good), 0 (neutral: reasonable but does not move the solution on) or
-1 (wrong), as in OpenAI's PRM800K, and may write the correct step in place of the first wrong
one. With the project option ``stop_at_first_negative`` (default true) rating may stop at the
first -1: later steps are not required.

Exports: ``stepwise`` in TRL's stepwise-supervision layout ``{"prompt", "completions",
"labels"}`` (label true for +1 and for 0, which PRM800K counts as acceptable; false for -1; the
steps after the first -1 are cut off, since a process reward model learns where a solution
first goes wrong), with the PRM800K-style ratings in ``metadata``; ``sft`` with the steps before
the first -1 followed by the trainer's corrected step. Consensus and gold are per step: each step
is one categorical part (``"1"``, ``"0"``, ``"-1"``); gold scores the share of its rated steps
judged right."""

from __future__ import annotations

from typing import Any

from ..checks import Checker, join, type_name
from ..errors import Problem
from .base import (
    ExportFormat,
    FormFields,
    GoldScore,
    ItemConsensus,
    Obj,
    TaskType,
    TaskTypeSpec,
    assistant,
    form_text,
    int_or_text,
    rounded,
)

RATINGS = (1, 0, -1)
ANSWERS = tuple(str(r) for r in RATINGS)


def first_negative(ratings: list[int | None]) -> int | None:
    """Index of the first step rated -1, or None."""
    return next((i for i, r in enumerate(ratings) if r == -1), None)


def stepwise_labels(ratings: list[int | None]) -> list[bool]:
    """TRL labels of the rated steps up to and including the first -1 (0 counts as acceptable)."""
    cut = first_negative(ratings)
    kept = ratings if cut is None else ratings[:cut + 1]
    out = []
    for r in kept:
        if r is None:
            break
        out.append(r >= 0)
    return out


class Steps(TaskTypeSpec):
    name = TaskType.steps
    title = "Step labels"
    shortcuts = (("j / k", "Next / previous step"), ("1 / 2 / 3", "Good (+1) / neutral (0) / wrong (−1)"),
                 ("c", "Write the correct step"))
    formats = (ExportFormat.sft, ExportFormat.stepwise)
    consensus_formats = (ExportFormat.stepwise,)
    has_consensus = True
    gradable = True

    def check_options(self, c: Checker, options: Obj) -> Obj:
        stop = options.get("stop_at_first_negative", True)
        if not isinstance(stop, bool):
            c.fail("options.stop_at_first_negative", f"must be true or false, got {type_name(stop)}")
        c.no_unknown(options, ("stop_at_first_negative",), "options")
        return {**options, "stop_at_first_negative": stop}

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        return {"stop_at_first_negative": form.get("stop_at_first_negative") is not None}

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        c.text(payload, "problem", loc)
        steps = c.string_list(payload, "steps", loc, min_len=1)
        for i, step in enumerate(steps or []):
            if not step.strip():
                c.fail(join(join(loc, "steps"), i), "must not be empty")
        c.no_unknown(payload, ("problem", "steps"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("ratings", "correction"), loc)
        n = len(payload.get("steps", []))
        stop = options.get("stop_at_first_negative", True)
        where = join(loc, "ratings")
        raw = obj.get("ratings")
        if not isinstance(raw, list):
            c.fail(where, f"must be a list with one rating (1, 0 or -1) per step ({n})")
            return {"ratings": [None] * n, "correction": None}
        ratings: list[int | None] = []
        for i, value in enumerate(raw):
            if value is None:
                ratings.append(None)
                continue
            if isinstance(value, bool) or value not in RATINGS:
                c.fail(join(where, i), f"must be 1, 0 or -1; got {value!r}")
                ratings.append(None)
                continue
            ratings.append(int(value))
        cut = first_negative(ratings)
        if len(ratings) > n or (len(ratings) < n and not (stop and cut is not None)):
            c.fail(where, f"must hold one rating per step: expected {n}, got {len(ratings)}")
        ratings = (ratings + [None] * n)[:n]
        needed = n if not stop or cut is None else cut + 1
        for i in range(needed):
            if ratings[i] is None and not (i < len(raw) and raw[i] is not None):
                c.fail(join(where, i), "is required: 1, 0 or -1"
                       + ("" if stop else " (this project rates every step)"))
        correction = c.text(obj, "correction", loc, required=False, allow_empty=True)
        correction = correction.strip() if correction else None
        if correction and cut is None:
            c.fail(join(loc, "correction"), "needs a step rated -1: the correction replaces the first wrong step")
        return {"ratings": ratings, "correction": correction or None}

    def gold_shorthand(self, gold: Any) -> Obj | None:
        return {"ratings": gold} if isinstance(gold, list) else None

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        ratings = [int_or_text(form_text(form, f"rating-{i}")) for i in range(len(item.get("steps") or []))]
        correction = form_text(form, "correction").strip()
        return {"ratings": ratings, **({"correction": correction} if correction else {})}

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        ratings = [int_or_text(form_text(form, f"{prefix}rating-{i}")) for i in range(len(question.get("steps") or []))]
        return {"ratings": ratings} if any(r is not None for r in ratings) else None

    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        judged = [(r, g) for r, g in zip(response["ratings"], gold["ratings"], strict=False) if g is not None]
        if not judged:
            return None
        return GoldScore(len(judged), sum(r == g for r, g in judged))

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        return [(i, str(r)) for i, r in enumerate(response["ratings"]) if r is not None]

    def answer_space(self, options: Obj, payload: Obj) -> tuple[str, ...]:
        return ANSWERS

    def step_of_part(self, payload: Obj, part: int) -> int | None:
        return part

    # -- exports ---------------------------------------------------------------------------
    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        ratings = response["ratings"]
        cut = first_negative(ratings)
        if fmt == ExportFormat.sft:
            if not response.get("correction") or cut is None:
                return []
            text = "\n".join([*payload["steps"][:cut], response["correction"]])
            return [{"messages": [{"role": "user", "content": payload["problem"]}, *assistant(text)],
                     "metadata": {**metadata, "corrected_step": cut}}]
        labels = stepwise_labels(ratings)
        if not labels:
            return []
        return [{"prompt": payload["problem"], "completions": payload["steps"][:len(labels)], "labels": labels,
                 "metadata": {**metadata, "ratings": ratings, "first_negative": cut,
                              "correction": response.get("correction")}}]

    def left_out_reason(self, fmt: ExportFormat, response: Obj) -> str | None:
        if fmt == ExportFormat.sft and not response.get("correction"):
            return "no correction"
        return None

    def attach_consensus(self, record: Obj, options: Obj, payload: Obj, consensus: ItemConsensus) -> None:
        record["metadata"]["consensus_ratings"] = consensus_ratings(payload, consensus)

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        ratings = consensus_ratings(payload, consensus)
        labels = stepwise_labels(ratings)
        by_part = consensus.by_part()
        steps = [{"step": i, "rating": r, "confidence": rounded(p.confidence) if p else None,
                  "agreement": p.agreement if p else None, "distribution": p.distribution(ANSWERS) if p else None}
                 for i, r in enumerate(ratings) for p in [by_part.get(i)]]
        meta = {**metadata, "judgments": consensus.judgments, "ratings": ratings,
                "first_negative": first_negative(ratings), "confidence": rounded(consensus.confidence),
                "steps": steps[:len(labels)]}
        return [{"prompt": payload["problem"], "completions": payload["steps"][:len(labels)], "labels": labels,
                 "metadata": meta}]


def consensus_ratings(payload: Obj, consensus: ItemConsensus) -> list[int | None]:
    """The consensus rating of every step of the item, by step index (None where no judgment
    rated the step, e.g. after a first -1)."""
    by_part = consensus.by_part()
    return [None if (p := by_part.get(i)) is None or p.answer is None else int(p.answer)
            for i in range(len(payload["steps"]))]


SPEC = Steps()
