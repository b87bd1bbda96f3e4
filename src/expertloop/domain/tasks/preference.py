"""``preference``: which of two model answers is better (or a tie), how strongly (1–3),
per-criterion ratings (1–5) and a rationale. Exports as chosen/rejected pairs (TRL's DPO and
reward trainers, with ``margin`` from the strength), KTO halves, or ranking pairs; a tie never
becomes a pair.

With the project option ``scale`` (e.g. ``[-3, 3]``, as in HelpSteer3) the trainer gives one
signed ``score`` instead of choice and strength: negative prefers response 0 (as imported),
positive response 1, 0 is a tie; ``margin`` is ``|score|``. The response also carries the
``choice`` the score implies, so consensus, gold and position bias read it as usual."""

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
    check_prompt_or_messages,
    check_responses,
    form_text,
    int_or_text,
    split_list,
)
from .pairs import consensus_meta, kto_records, pair_records

MAX_SCALE_END = 10  # a signed scale runs at most from -10 to 10 (HelpSteer3 uses -3..3)


def best_first(response: Obj) -> list[int] | None:
    """Best-first indices of a judgment, or None for a tie."""
    choice = response["choice"]
    return None if choice == "tie" else [choice, 1 - choice]


def choice_of(score: int) -> int | str:
    """The choice a signed score implies: negative prefers response 0, positive response 1."""
    return 0 if score < 0 else 1 if score > 0 else "tie"


def margin(strength: float | None) -> float:
    """TRL's reward-trainer ``margin``: the strength (1–3) as a number; 0.0 when none was given."""
    return float(strength) if strength is not None else 0.0


class Preference(TaskTypeSpec):
    name = TaskType.preference
    title = "Preference"
    shortcuts = (("1 / 2", "Choose answer A / B"), ("t", "About the same"), ("1–3", "Strength, on its question"),
                 ("1–5", "Criterion score, on its question"))
    formats = (ExportFormat.preference, ExportFormat.ranking, ExportFormat.kto)
    consensus_formats = (ExportFormat.preference, ExportFormat.ranking)
    has_consensus = True
    gradable = True
    shuffled = True
    pairwise = True

    def check_options(self, c: Checker, options: Obj) -> Obj:
        # The page draws one button per point of a signed scale: a bounded scale is a usable one.
        crit = c.string_list(options, "criteria", "options", required=False)
        if options.get("allow_ties") is not None and not isinstance(options["allow_ties"], bool):
            c.fail("options.allow_ties", "must be true or false")
        scale = options.get("scale")
        if scale is not None and (not isinstance(scale, list) or len(scale) != 2
                                  or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale)
                                  or not -MAX_SCALE_END <= scale[0] < 0 < scale[1] <= MAX_SCALE_END):
            c.fail("options.scale", f"must be [min, max] integers with -{MAX_SCALE_END} <= min < 0 < max <= "
                                    f"{MAX_SCALE_END}, such as [-3, 3]; got {scale!r}")
        c.no_unknown(options, ("criteria", "allow_ties", "scale"), "options")
        return {**options, "criteria": crit or []}

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        out: Obj = {"criteria": split_list(form_text(form, "preference_criteria")),
                    "allow_ties": form.get("allow_ties") is not None}
        scale = form_text(form, "preference_scale").strip()
        if scale:
            lo, sep, hi = scale.rpartition("..") if ".." in scale else ("", "", "")
            try:
                out["scale"] = [int(lo), int(hi)] if sep else [-int(scale), int(scale)]
            except ValueError:
                problems.append(Problem("preference_scale", f"must look like 3 or -3..3, got {scale!r}"))
        return out

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        check_prompt_or_messages(c, payload, loc)
        check_responses(c, payload, loc, exactly=2)
        c.no_unknown(payload, ("prompt", "messages", "responses"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        allow_ties = options.get("allow_ties", True)
        scale = options.get("scale")
        signed = None
        if scale:
            c.no_unknown(obj, ("score", "choice", "rationale", "criteria"), loc)
            signed = c.integer(obj, "score", loc, lo=scale[0], hi=scale[1])
            if signed == 0 and not allow_ties:
                c.fail(join(loc, "score"), "must not be 0: this project allows no ties")
            choice = choice_of(signed) if signed is not None else None
            if obj.get("choice") is not None and signed is not None and obj["choice"] != choice:
                c.fail(join(loc, "choice"), f"must agree with the score ({choice!r}), or be left out")
            strength = None
        else:
            c.no_unknown(obj, ("choice", "strength", "rationale", "criteria"), loc)
            choice = obj.get("choice")
            valid = (0, 1, "tie") if allow_ties else (0, 1)
            if isinstance(choice, bool) or choice not in valid:
                c.fail(join(loc, "choice"), f"must be one of {', '.join(map(repr, valid))}; got {choice!r}")
            strength = c.integer(obj, "strength", loc, lo=1, hi=3, required=False)
        rationale = c.text(obj, "rationale", loc, required=False, allow_empty=True)
        criteria_names = options.get("criteria") or []
        criteria = {}
        raw = obj.get("criteria") or {}
        if not isinstance(raw, dict):
            c.fail(join(loc, "criteria"), f"must be an object of criterion -> 1..5, got {type_name(raw)}")
        else:
            for name, score in raw.items():
                where = join(join(loc, "criteria"), name)
                if criteria_names and name not in criteria_names:
                    c.fail(where, f"unknown criterion (expected one of: {', '.join(criteria_names)})")
                    continue
                value = c.int_value(score, where, lo=1, hi=5)
                if value is not None:
                    criteria[name] = value
        out: Obj = {"choice": choice} if signed is None else {"score": signed, "choice": choice}
        if strength is not None:
            out["strength"] = strength
        if rationale:
            out["rationale"] = rationale
        if criteria:
            out["criteria"] = criteria
        return out

    def gold_shorthand(self, gold: Any) -> Obj | None:
        return {"choice": gold}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        out: Obj
        if options.get("scale"):
            # the form's score is relative to the answers as shown (negative: the first shown is
            # better); the response's is relative to the imported order
            shown = int_or_text(form_text(form, "score"))
            first = (item.get("responses") or [{"index": 0}])[0]["index"]
            out = {"score": -shown if isinstance(shown, int) and first == 1 else shown}
        else:
            choice = form_text(form, "choice").strip()
            out = {"choice": "tie" if choice == "tie" else int_or_text(choice)}
        strength = int_or_text(form_text(form, "strength"))
        if strength is not None:
            out["strength"] = strength
        criteria = {}
        for name in options.get("criteria") or []:
            value = int_or_text(form_text(form, f"criterion:{name}"))
            if value is not None:
                criteria[name] = value
        if criteria:
            out["criteria"] = criteria
        rationale = form_text(form, "rationale").strip()
        if rationale:
            out["rationale"] = rationale
        return out

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        choice = form_text(form, prefix + "choice").strip()
        if not choice:
            return None
        return {"choice": "tie" if choice == "tie" else int_or_text(choice)}

    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        return GoldScore(1, int(response["choice"] == gold["choice"]))

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        return [(0, str(response["choice"]))]

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        order = best_first(response)
        if order is None:
            return []
        if fmt == ExportFormat.kto:
            return kto_records(payload, order, metadata)
        extra = {"strength": response.get("strength"), "rationale": response.get("rationale"),
                 "criteria": response.get("criteria")}
        if "score" in response:
            extra["score"] = response["score"]
            return pair_records(payload, order, metadata, extra, {"margin": float(abs(response["score"]))})
        return pair_records(payload, order, metadata, extra, {"margin": margin(response.get("strength"))})

    def left_out_reason(self, fmt: ExportFormat, response: Obj) -> str | None:
        return "tie" if response["choice"] == "tie" else None

    def consensus_left_out_reason(self, fmt: ExportFormat, consensus: ItemConsensus) -> str | None:
        part = consensus.parts[0] if consensus.parts else None
        if part is not None and (part.answer == "tie" or set(part.votes) == {"tie"}):
            return "tie"  # a tie, or only ties to rest on: never a chosen/rejected pair
        return super().consensus_left_out_reason(fmt, consensus)

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        """One pair per item: the consensus choice over the other answer."""
        winner = int(consensus.parts[0].answer or 0)
        agreeing = [r for r in consensus.responses if r["choice"] == winner]
        strengths = [r["strength"] for r in agreeing if r.get("strength") is not None]
        scores = [abs(r["score"]) for r in agreeing if r.get("score") is not None]
        mean_strength = round(sum(strengths) / len(strengths), 3) if strengths else None
        basis = mean_strength
        meta = {**metadata, **consensus_meta(consensus), "mean_strength": mean_strength,
                "rationales": [r["rationale"] for r in agreeing if r.get("rationale")]}
        meta["consensus_strength"] = meta["confidence"]  # the name earlier releases used
        if scores:  # a signed scale: the margin is the mean |score| of the agreeing judgments
            basis = meta["mean_abs_score"] = round(sum(scores) / len(scores), 3)
        return pair_records(payload, [winner, 1 - winner], meta, top_level={"margin": margin(basis)})


SPEC = Preference()
