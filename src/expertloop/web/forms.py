"""HTML form fields to the plain data services take (a response, a project definition, exam answers).

Only shape is handled here; every rule is checked by the domain, which names the bad field.
"""

from __future__ import annotations

from starlette.datastructures import FormData

from ..domain.errors import Problem, ValidationFailed
from ..domain.projects import TaskType


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def _int_or_text(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def response_from_form(form: FormData, task_type: TaskType, options: dict, item: dict) -> dict:
    """The typed response a task form describes (see templates/tasks/*.html for the names)."""
    if task_type == TaskType.sft:
        return {"completion": _text(form, "completion")}
    if task_type == TaskType.preference:
        choice = _text(form, "choice").strip()
        out: dict = {"choice": "tie" if choice == "tie" else _int_or_text(choice)}
        strength = _int_or_text(_text(form, "strength"))
        if strength is not None:
            out["strength"] = strength
        criteria = {}
        for name in options.get("criteria") or []:
            value = _int_or_text(_text(form, f"criterion:{name}"))
            if value is not None:
                criteria[name] = value
        if criteria:
            out["criteria"] = criteria
        rationale = _text(form, "rationale").strip()
        if rationale:
            out["rationale"] = rationale
        return out
    if task_type == TaskType.ranking:
        return {"order": [_int_or_text(v) for v in form.getlist("order") if isinstance(v, str)]}
    if task_type == TaskType.factcheck:
        claims = []
        for i in range(len(item.get("claims") or [])):
            evidence = [line.strip() for line in _text(form, f"evidence-{i}").split("\n") if line.strip()]
            claims.append({"verdict": _text(form, f"verdict-{i}").strip() or None, "evidence": evidence,
                           "correction": _text(form, f"correction-{i}").strip() or None})
        return {"claims": claims}
    if task_type == TaskType.rubric:
        scores = {}
        for crit in options.get("criteria") or []:
            value = _int_or_text(_text(form, f"score:{crit['name']}"))
            if value is not None:
                scores[crit["name"]] = value
        comment = _text(form, "comment").strip()
        return {"scores": scores, **({"comment": comment} if comment else {})}
    if task_type == TaskType.label:
        return {"label": _text(form, "label")}
    raise ValidationFailed(f"unknown task type {task_type!r}")


def _number(value: str) -> int | float | str | None:
    """An integer, a decimal (``0.9``) or a percentage (``90%`` → 0.9); anything else as typed."""
    value = value.strip()
    if not value:
        return None
    try:
        if value.endswith("%"):
            return float(value[:-1]) / 100
        return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        return value


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def project_from_form(form: FormData) -> dict:
    """A project definition (as the YAML/JSON one) from the create-project form."""
    problems: list[Problem] = []
    task_type = _text(form, "task_type").strip()
    data: dict = {"name": _text(form, "name").strip(), "task_type": task_type,
                  "guidelines": _text(form, "guidelines")}
    options: dict = {}
    if task_type == "label":
        options["labels"] = _split(_text(form, "labels"))
    elif task_type == "preference":
        options["criteria"] = _split(_text(form, "preference_criteria"))
        options["allow_ties"] = form.get("allow_ties") is not None
    elif task_type == "rubric":
        criteria = []
        for n, line in enumerate(_text(form, "rubric_criteria").split("\n"), 1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            crit: dict = {"name": parts[0]}
            if len(parts) > 1 and parts[1]:
                lo, _, hi = parts[1].partition("-")
                try:
                    crit["scale"] = [int(lo), int(hi)]
                except ValueError:
                    problems.append(Problem(f"rubric criteria line {n}",
                                            f"scale must look like 1-5, got {parts[1]!r}"))
            if len(parts) > 2:
                crit["description"] = "|".join(parts[2:]).strip()
            criteria.append(crit)
        options["criteria"] = criteria
    if options:
        data["options"] = options
    requirements: dict = {}
    langs = _split(_text(form, "languages").lower())
    if langs:
        requirements["languages"] = langs
    licences = _split(_text(form, "licenses").lower())
    if licences:
        requirements["licenses"] = licences
    degree = _text(form, "min_degree").strip()
    if degree and degree != "none":
        requirements["min_degree"] = degree
    domains = {}
    for part in _split(_text(form, "domains")):
        name, sep, level = part.partition(":")
        if not sep:
            problems.append(Problem("requirements.domains", f"write domain:level, e.g. history:3; got {part!r}"))
            continue
        domains[name.strip().lower()] = _int_or_text(level)
    if domains:
        requirements["domains"] = domains
    if requirements:
        data["requirements"] = requirements
    for key in ("overlap", "lease_minutes", "max_minutes_per_task"):
        value = _int_or_text(_text(form, key))
        if value is not None:
            data[key] = value
    adaptive = {k: _number(_text(form, f"overlap_{k}")) for k in ("min", "max", "target_confidence")}
    if any(v is not None for v in adaptive.values()):  # adaptive overlap replaces the fixed one
        data["overlap"] = {k: v for k, v in adaptive.items() if v is not None}
    floor = {k: _number(_text(form, f"quality_floor_{k}"))
             for k in ("gold_accuracy", "min_gold", "reliability", "min_judgments")}
    for measure, evidence in (("gold_accuracy", "min_gold"), ("reliability", "min_judgments")):
        if floor[measure] is None and floor[evidence] is not None:
            problems.append(Problem(f"quality_floor.{measure}", f"is required with {evidence.replace('_', ' ')}"))
    if floor["gold_accuracy"] is not None or floor["reliability"] is not None:
        data["quality_floor"] = {k: v for k, v in floor.items() if v is not None}
    for key in ("budget_usd", "hourly_rate_usd"):
        value = _text(form, key).strip()  # parsed strictly by the domain: "12,50" is refused, never scaled
        if value:
            data[key] = value
    if problems:
        raise ValidationFailed(problems)
    return data


def exam_answers_from_form(form: FormData, task_type: TaskType, questions: list[dict]) -> dict[str, dict]:
    """Answers to an exam, ``{question_id: response}``, from fields named ``q{id}:…`` (see
    templates/exams/take.html). A question left blank is left out: it scores zero."""
    answers: dict[str, dict] = {}
    for q in questions:
        prefix = f"q{q['question_id']}:"
        if task_type == TaskType.label:
            label = _text(form, prefix + "label")
            if label:
                answers[str(q["question_id"])] = {"label": label}
        elif task_type == TaskType.preference:
            choice = _text(form, prefix + "choice").strip()
            if choice:
                answers[str(q["question_id"])] = {"choice": "tie" if choice == "tie" else _int_or_text(choice)}
        elif task_type == TaskType.factcheck:
            verdicts = [_text(form, f"{prefix}verdict-{i}").strip() or None for i in range(len(q.get("claims") or []))]
            if any(verdicts):
                answers[str(q["question_id"])] = {"claims": [{"verdict": v} for v in verdicts]}
        elif task_type == TaskType.ranking:
            ranks = {r["index"]: _int_or_text(_text(form, f"{prefix}rank-{r['index']}")) for r in q.get("responses") or []}
            if any(v is not None for v in ranks.values()):
                if all(isinstance(v, int) for v in ranks.values()) and sorted(ranks.values()) == list(
                        range(1, len(ranks) + 1)):
                    order = sorted(ranks, key=ranks.__getitem__)
                else:
                    order = list(ranks.values())  # not a ranking: the domain names the problem
                answers[str(q["question_id"])] = {"order": order}
    return answers
