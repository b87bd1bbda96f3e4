"""``rubric``: scores on the project's named criteria (each on its own integer scale), with a
comment. An item holds one answer (``response``) or several (``responses``, HelpSteer2 style);
each answer is scored on every criterion. No categorical answer: the quality report measures
agreement and leniency per criterion, over every scored answer (:meth:`Rubric.score_units`),
instead of a consensus.

Exports: ``rubric``, the regression layout, one record per scored answer ``{"prompt",
"response", "scores": {criterion: int}, "comment"}``; ``preference``, pairs derived from the
scores of an item's several answers in one judgment: an answer's overall score is the mean of its
criteria, the higher one is ``chosen``, ``margin`` is the difference, and equal scores never make
a pair."""

from __future__ import annotations

from ..checks import Checker, join, type_name
from ..errors import Problem
from .base import (
    ExportFormat,
    FormFields,
    Obj,
    TaskType,
    TaskTypeSpec,
    check_responses,
    form_text,
    int_or_text,
)
from .pairs import pair_records

# The page draws one control per point of a scale: a criterion's scale is bounded so it stays usable.
MAX_SCALE_SPAN = 100
MAX_SCALE_END = 1000


def overall(scores: Obj) -> float | None:
    """One answer's overall score: the mean of its criteria (raw points, so a criterion with a
    wider scale weighs more)."""
    return sum(scores.values()) / len(scores) if scores else None


def score_pairs(all_scores: list[Obj]) -> list[tuple[int, int, float, float]]:
    """``(better, worse, better's overall, worse's overall)`` for every two answers whose overall
    scores differ, in answer order; equal scores are no pair."""
    totals = [overall(s) for s in all_scores]
    out = []
    for i in range(len(totals)):
        for j in range(i + 1, len(totals)):
            a, b = totals[i], totals[j]
            if a is None or b is None or a == b:
                continue
            out.append((i, j, a, b) if a > b else (j, i, b, a))
    return out


class Rubric(TaskTypeSpec):
    name = TaskType.rubric
    title = "Rubric"
    shortcuts = (("0–9", "Score the selected criterion"), ("- / +", "Score down / up"))
    formats = (ExportFormat.rubric, ExportFormat.preference)
    scored = True

    def check_options(self, c: Checker, options: Obj) -> Obj:
        criteria = options.get("criteria")
        if not isinstance(criteria, list) or not criteria:
            c.fail("options.criteria", "is required: a list of {name, scale: [min, max], description}")
        else:
            normalised = []
            for i, crit in enumerate(criteria):
                where = f"options.criteria[{i}]"
                if not isinstance(crit, dict):
                    c.fail(where, "must be an object")
                    continue
                cname = c.text(crit, "name", where)
                scale = crit.get("scale", [1, 5])
                if (not isinstance(scale, list) or len(scale) != 2
                        or not all(isinstance(s, int) and not isinstance(s, bool) for s in scale)
                        or scale[0] >= scale[1] or scale[1] - scale[0] > MAX_SCALE_SPAN
                        or abs(scale[0]) > MAX_SCALE_END or abs(scale[1]) > MAX_SCALE_END):
                    c.fail(join(where, "scale"), f"must be [min, max] integers with min < max, at most "
                                                 f"{MAX_SCALE_SPAN} apart and within ±{MAX_SCALE_END}")
                    continue
                normalised.append({"name": cname, "scale": scale,
                                   "description": crit.get("description", "")})
            names = [n["name"] for n in normalised]
            if len(set(names)) != len(names):
                c.fail("options.criteria", "criterion names must be unique")
            options = {**options, "criteria": normalised}
        c.no_unknown(options, ("criteria",), "options")
        return options

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        """One criterion per line: ``name | 1-5 | description``."""
        criteria = []
        for n, line in enumerate(form_text(form, "rubric_criteria").split("\n"), 1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            crit: Obj = {"name": parts[0]}
            if len(parts) > 1 and parts[1]:
                lo, _, hi = parts[1].partition("-")
                try:
                    crit["scale"] = [int(lo), int(hi)]
                except ValueError:
                    problems.append(Problem(f"rubric criteria line {n}", f"scale must look like 1-5, got {parts[1]!r}"))
            if len(parts) > 2:
                crit["description"] = "|".join(parts[2:]).strip()
            criteria.append(crit)
        return {"criteria": criteria}

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        c.text(payload, "prompt", loc)
        if ("response" in payload) == ("responses" in payload):
            c.fail(loc, "needs exactly one of \"response\" (one answer) or \"responses\" (several: [{text, model}…])")
        elif "response" in payload:
            c.text(payload, "response", loc)
        else:
            check_responses(c, payload, loc, None)
        c.no_unknown(payload, ("prompt", "response", "responses"), loc)

    def _scores(self, c: Checker, scores: object, criteria: dict[str, list[int]], where: str) -> Obj:
        out: Obj = {}
        if not isinstance(scores, dict):
            c.fail(where, f"must be an object with a score for each of: {', '.join(criteria)}")
            return out
        for name in scores:
            if name not in criteria:
                c.fail(join(where, name), f"unknown criterion (expected one of: {', '.join(criteria)})")
        for name, (lo, hi) in criteria.items():
            if name not in scores:
                c.fail(join(where, name), "is required")
                continue
            value = c.int_value(scores[name], join(where, name), lo=lo, hi=hi)
            if value is not None:
                out[name] = value
        return out

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("scores", "comment"), loc)
        criteria = {crit["name"]: crit["scale"] for crit in options.get("criteria", [])}
        scores = obj.get("scores")
        where = join(loc, "scores")
        out: Obj | list[Obj]
        if "responses" not in payload:
            out = self._scores(c, scores, criteria, where)
        else:
            n = len(payload["responses"])
            if not isinstance(scores, list) or len(scores) != n:
                c.fail(where, f"must be a list of {n} objects, one per answer in the item's order, each with a "
                              f"score for {', '.join(criteria)}; got {type_name(scores)}"
                              + (f" of {len(scores)}" if isinstance(scores, list) else ""))
                out = []
            else:
                out = [self._scores(c, s, criteria, join(where, i)) for i, s in enumerate(scores)]
        comment = c.text(obj, "comment", loc, required=False, allow_empty=True)
        return {"scores": out, "comment": comment or None}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        def read(prefix: str) -> Obj:
            scores = {}
            for crit in options.get("criteria") or []:
                value = int_or_text(form_text(form, f"{prefix}{crit['name']}"))
                if value is not None:
                    scores[crit["name"]] = value
            return scores

        comment = form_text(form, "comment").strip()
        if "responses" in item:
            n = len(item["responses"])
            return {"scores": [read(f"score:{i}:") for i in range(n)], **({"comment": comment} if comment else {})}
        return {"scores": read("score:"), **({"comment": comment} if comment else {})}

    def score_units(self, response: Obj) -> list[Obj]:
        scores = response["scores"]
        return list(scores) if isinstance(scores, list) else [scores]

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        if "responses" not in payload:
            if fmt != ExportFormat.rubric:
                return []
            return [{"prompt": payload["prompt"], "response": payload["response"], "scores": response["scores"],
                     "comment": response.get("comment"), "metadata": metadata}]
        answers = payload["responses"]
        if fmt == ExportFormat.rubric:
            return [{"prompt": payload["prompt"], "response": answer["text"], "scores": scores,
                     "comment": response.get("comment"),
                     "metadata": {**metadata, "response_index": i, "model": answer.get("model")}}
                    for i, (answer, scores) in enumerate(zip(answers, response["scores"], strict=True))]
        out = []
        for better, worse, high, low in score_pairs(response["scores"]):
            extra = {"chosen_score": round(high, 4), "rejected_score": round(low, 4),
                     "chosen_scores": response["scores"][better], "rejected_scores": response["scores"][worse]}
            out += pair_records(payload, [better, worse], metadata, extra, {"margin": round(high - low, 4)})
        return out

    def left_out_reason(self, fmt: ExportFormat, response: Obj) -> str | None:
        if fmt != ExportFormat.preference:
            return None
        if not isinstance(response["scores"], list):
            return "one answer"
        return None if score_pairs(response["scores"]) else "tie"


SPEC = Rubric()
