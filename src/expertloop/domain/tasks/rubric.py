"""``rubric``: scores on the project's named criteria (each on its own integer scale), with a
comment. No categorical answer: the quality report measures agreement and leniency per
criterion instead of a consensus."""

from __future__ import annotations

from ..checks import Checker, join
from ..errors import Problem
from .base import ExportFormat, FormFields, Obj, TaskType, TaskTypeSpec, form_text, int_or_text


class Rubric(TaskTypeSpec):
    name = TaskType.rubric
    title = "Rubric"
    shortcuts = (("0–9", "Score the selected criterion"), ("- / +", "Score down / up"))
    formats = (ExportFormat.rubric,)
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
                        or scale[0] >= scale[1]):
                    c.fail(join(where, "scale"), "must be [min, max] integers with min < max")
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
        c.text(payload, "response", loc)
        c.no_unknown(payload, ("prompt", "response"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("scores", "comment"), loc)
        criteria = {crit["name"]: crit["scale"] for crit in options.get("criteria", [])}
        scores = obj.get("scores")
        where = join(loc, "scores")
        out: Obj = {}
        if not isinstance(scores, dict):
            c.fail(where, f"must be an object with a score for each of: {', '.join(criteria)}")
        else:
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
        comment = c.text(obj, "comment", loc, required=False, allow_empty=True)
        return {"scores": out, "comment": comment or None}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        scores = {}
        for crit in options.get("criteria") or []:
            value = int_or_text(form_text(form, f"score:{crit['name']}"))
            if value is not None:
                scores[crit["name"]] = value
        comment = form_text(form, "comment").strip()
        return {"scores": scores, **({"comment": comment} if comment else {})}

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        return [{"prompt": payload["prompt"], "response": payload["response"], "scores": response["scores"],
                 "comment": response.get("comment"), "metadata": metadata}]


SPEC = Rubric()
