"""``preference``: which of two model answers is better (or a tie), how strongly (1–3),
per-criterion ratings (1–5) and a rationale. Exports as chosen/rejected pairs (TRL's DPO and
reward trainers, with ``margin`` from the strength), KTO halves, or ranking pairs; a tie never
becomes a pair."""

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


def best_first(response: Obj) -> list[int] | None:
    """Best-first indices of a judgment, or None for a tie."""
    choice = response["choice"]
    return None if choice == "tie" else [choice, 1 - choice]


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
        crit = c.string_list(options, "criteria", "options", required=False)
        if options.get("allow_ties") is not None and not isinstance(options["allow_ties"], bool):
            c.fail("options.allow_ties", "must be true or false")
        c.no_unknown(options, ("criteria", "allow_ties"), "options")
        return {**options, "criteria": crit or []}

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        return {"criteria": split_list(form_text(form, "preference_criteria")),
                "allow_ties": form.get("allow_ties") is not None}

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        check_prompt_or_messages(c, payload, loc)
        check_responses(c, payload, loc, exactly=2)
        c.no_unknown(payload, ("prompt", "messages", "responses"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("choice", "strength", "rationale", "criteria"), loc)
        choice = obj.get("choice")
        allow_ties = options.get("allow_ties", True)
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
        out: Obj = {"choice": choice}
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
        choice = form_text(form, "choice").strip()
        out: Obj = {"choice": "tie" if choice == "tie" else int_or_text(choice)}
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
        mean_strength = round(sum(strengths) / len(strengths), 3) if strengths else None
        meta = {**metadata, **consensus_meta(consensus), "mean_strength": mean_strength,
                "rationales": [r["rationale"] for r in agreeing if r.get("rationale")]}
        meta["consensus_strength"] = meta["confidence"]  # the name earlier releases used
        return pair_records(payload, [winner, 1 - winner], meta, top_level={"margin": margin(mean_strength)})


SPEC = Preference()
