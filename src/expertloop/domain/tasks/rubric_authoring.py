"""``rubric_authoring``: the expert writes an instance-specific rubric for a prompt (as in
Rubrics as Rewards): criteria, each with a category (essential, important, optional, or a
pitfall the answer must avoid), a weight, and whether it can be checked from the answer alone.
An item is a prompt with optional reference answers. A reviewer may edit the rubric through the
usual review. Export ``rubrics``: ``{"prompt", "rubric": [{"criterion", "weight", "category",
"checkable"}…]}``. Open-ended: no consensus.

Where the item has reference answers, the author (or a reviewer, through an edit) may mark which
references meet each criterion (``meets``: reference indices). A rubric then scores each
reference (:func:`rubric_score`), and the quality report compares the authors of an item by the
scores their rubrics give the same references. The marks are an expert's judgment, not a
grader's: no model is in the loop."""

from __future__ import annotations

from ..checks import Checker, join, type_name
from ..errors import Problem
from .base import ExportFormat, FormFields, Obj, TaskType, TaskTypeSpec, form_text, int_or_text

CATEGORIES = ("essential", "important", "optional", "pitfall")
# Default weights per category when a criterion gives none; a pitfall counts against an answer.
DEFAULT_WEIGHTS = {"essential": 5, "important": 3, "optional": 1, "pitfall": -2}
MAX_CRITERIA = 20
FORM_ROWS = 8


def rubric_score(criteria: list[Obj], reference: int) -> float | None:
    """The score a rubric gives reference answer ``reference``: the weights of the criteria it
    meets (a pitfall it falls into subtracts) over the rubric's total positive weight, so 1.0 is
    every positive criterion met and no pitfall. None when the rubric has no positive weight."""
    total: int = sum(c["weight"] for c in criteria if c["weight"] > 0)
    if not total:
        return None
    met: int = sum(c["weight"] for c in criteria if reference in c.get("meets", ()))
    return round(met / total, 4)


class RubricAuthoring(TaskTypeSpec):
    name = TaskType.rubric_authoring
    title = "Rubric authoring"
    shortcuts = (("j / k", "Next / previous criterion"), ("Enter", "Write the selected criterion"),
                 ("e / i / o / p", "Essential / important / optional / pitfall"),
                 ("x", "Checkable from the answer alone (toggle)"),
                 ("1–9", "Reference answer N meets the selected criterion (toggle)"))
    formats = (ExportFormat.rubrics,)
    compares_authors = True

    def check_options(self, c: Checker, options: Obj) -> Obj:
        least = options.get("min_criteria", 3)
        if isinstance(least, bool) or not isinstance(least, int) or not 1 <= least <= MAX_CRITERIA:
            c.fail("options.min_criteria", f"must be a whole number from 1 to {MAX_CRITERIA}, got {least!r}")
        c.no_unknown(options, ("min_criteria",), "options")
        return {**options, "min_criteria": least}

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        least = int_or_text(form_text(form, "min_criteria"))
        return {} if least is None else {"min_criteria": least}

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        c.text(payload, "prompt", loc)
        refs = c.string_list(payload, "references", loc, required=False)
        for i, ref in enumerate(refs or []):
            if not ref.strip():
                c.fail(join(join(loc, "references"), i), "must not be empty")
        c.no_unknown(payload, ("prompt", "references"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("criteria", "notes"), loc)
        least = options.get("min_criteria", 3)
        where = join(loc, "criteria")
        raw = obj.get("criteria")
        out: list[Obj] = []
        if not isinstance(raw, list):
            c.fail(where, f"must be a list of {{criterion, category, weight, checkable}}, got {type_name(raw)}")
            raw = []
        elif not least <= len(raw) <= MAX_CRITERIA:
            c.fail(where, f"must hold {least} to {MAX_CRITERIA} criteria, got {len(raw)}")
        seen: dict[str, int] = {}
        for i, crit in enumerate(raw):
            cloc = join(where, i)
            if not isinstance(crit, dict):
                c.fail(cloc, "must be an object with criterion, category, weight, checkable")
                continue
            c.no_unknown(crit, ("criterion", "category", "weight", "checkable", "meets"), cloc)
            text = c.text(crit, "criterion", cloc)
            category = crit.get("category")
            if category not in CATEGORIES:
                c.fail(join(cloc, "category"), f"must be one of {', '.join(CATEGORIES)}; got {category!r}")
                category = None
            weight = c.integer(crit, "weight", cloc, lo=-10, hi=10, required=False)
            if weight == 0:
                c.fail(join(cloc, "weight"), "must not be 0: leave it out for the category's default")
            elif weight is not None and category is not None and (weight < 0) != (category == "pitfall"):
                c.fail(join(cloc, "weight"), "must be negative for a pitfall and positive otherwise")
            checkable = crit.get("checkable", True)
            if not isinstance(checkable, bool):
                c.fail(join(cloc, "checkable"), "must be true or false")
            if text is not None:
                key = " ".join(text.lower().split())
                if key in seen:
                    c.fail(join(cloc, "criterion"), f"repeats criterion {seen[key]}: criteria must not overlap")
                seen.setdefault(key, i)
            meets = self._meets(c, crit.get("meets"), len(payload.get("references") or []), join(cloc, "meets"))
            if text is not None and category is not None:
                out.append({"criterion": text.strip(), "category": category,
                            "weight": weight if weight is not None else DEFAULT_WEIGHTS[category],
                            "checkable": checkable if isinstance(checkable, bool) else True,
                            **({"meets": meets} if meets else {})})
        notes = c.text(obj, "notes", loc, required=False, allow_empty=True)
        return {"criteria": out, "notes": notes.strip() if notes and notes.strip() else None}

    @staticmethod
    def _meets(c: Checker, value: object, n_refs: int, where: str) -> list[int]:
        """The reference answers a criterion is met by (their indices), checked."""
        if value is None:
            return []
        if not n_refs:
            c.fail(where, "needs reference answers: this item has none")
            return []
        if not isinstance(value, list):
            c.fail(where, f"must be a list of reference indices (0 to {n_refs - 1}), got {type_name(value)}")
            return []
        out = []
        for k, ref in enumerate(value):
            if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < n_refs:
                c.fail(join(where, k), f"must be a reference index from 0 to {n_refs - 1}; got {ref!r}")
            else:
                out.append(ref)
        return sorted(set(out))

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        criteria = []
        i = 0
        while form.get(f"criterion-{i}") is not None:
            text = form_text(form, f"criterion-{i}").strip()
            if text:
                crit: Obj = {"criterion": text, "category": form_text(form, f"category-{i}").strip() or None,
                             "checkable": form.get(f"checkable-{i}") is not None}
                weight = int_or_text(form_text(form, f"weight-{i}"))
                if weight is not None:
                    crit["weight"] = weight
                meets = [int_or_text(v) for v in form.getlist(f"meets-{i}") if isinstance(v, str)]
                if any(m is not None for m in meets):
                    crit["meets"] = [m for m in meets if m is not None]
                criteria.append(crit)
            i += 1
        notes = form_text(form, "notes").strip()
        return {"criteria": criteria, **({"notes": notes} if notes else {})}

    def candidate_scores(self, payload: Obj, response: Obj) -> list[float | None]:
        """Each reference answer's score under this rubric, once the author (or a reviewer)
        marked which references meet which criteria; empty before any mark."""
        criteria = response["criteria"]
        if not any(c.get("meets") for c in criteria):
            return []
        return [rubric_score(criteria, r) for r in range(len(payload.get("references") or []))]

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        rubric = [{"criterion": c["criterion"], "weight": c["weight"], "category": c["category"],
                   "checkable": c["checkable"]} for c in response["criteria"]]
        return [{"prompt": payload["prompt"], "rubric": rubric,
                 "metadata": {**metadata, "references": payload.get("references") or [],
                              "notes": response.get("notes")}}]


SPEC = RubricAuthoring()
