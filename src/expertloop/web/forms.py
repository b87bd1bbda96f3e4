"""HTML form fields to the plain data services take (a response, a project definition, exam answers).

Only shape is handled here; every rule is checked by the domain, which names the bad field.
Before any parser runs, :func:`form_problems` checks every text field of a posted form (the
pages' ``form_data`` dependency calls it): no NUL, no unpaired surrogate, at most
:data:`MAX_FIELD_CHARS` characters. So no form text reaches a service that a database could
refuse, whichever page posted it.
"""

from __future__ import annotations

from starlette.datastructures import FormData

from ..domain.checks import text_problem
from ..domain.errors import Problem, ValidationFailed
from ..domain.projects import TaskType
from ..domain.responses import MAX_TEXT
from ..domain.tasks import TASK_TYPES
from ..domain.tasks import task_type as task_spec
from ..domain.tasks.base import form_text, int_or_text, split_list

MAX_FIELD_CHARS = MAX_TEXT  # the longest text a response field may hold; no form field is longer
MAX_PROBLEMS = 20


def form_problems(form: FormData) -> list[Problem]:
    """Every text field of ``form`` that cannot be stored, each named: NUL characters, unpaired
    surrogates, more than :data:`MAX_FIELD_CHARS` characters (a bad field *name* is reported at
    ``form``). Uploaded files are checked by their readers."""
    problems: list[Problem] = []
    for key, value in form.multi_items():
        if (msg := text_problem(key)) is not None:
            problems.append(Problem("form", f"has a field name that {msg}"))
        elif isinstance(value, str):
            if (msg := text_problem(value)) is not None:
                problems.append(Problem(key, msg))
            elif len(value) > MAX_FIELD_CHARS:
                problems.append(Problem(key, f"is longer than {MAX_FIELD_CHARS} characters ({len(value)})"))
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems


def response_from_form(form: FormData, task_type: TaskType, options: dict, item: dict) -> dict:
    """The typed response a task form describes (see templates/tasks/_<type>.html for the names)."""
    return task_spec(task_type).response_from_form(form, options, item)


def _number(value: str) -> int | float | str | None:
    """An integer, a decimal (``0.9``) or a percentage (``90%`` → 0.9); anything else as typed."""
    value = value.strip()
    if not value:
        return None
    try:
        if value.endswith("%"):
            return float(value[:-1]) / 100
        return int(value) if value.lstrip("-").isdecimal() else float(value)
    except ValueError:
        return value


def project_from_form(form: FormData) -> dict:
    """A project definition (as the YAML/JSON one) from the create-project form."""
    problems: list[Problem] = []
    task_type = form_text(form, "task_type").strip()
    data: dict = {"name": form_text(form, "name").strip(), "task_type": task_type,
                  "guidelines": form_text(form, "guidelines")}
    options: dict = {}
    if task_type in TASK_TYPES:  # an unknown type is named by the domain's check
        options = task_spec(task_type).options_from_form(form, problems)
    if options:
        data["options"] = options
    requirements: dict = {}
    langs = split_list(form_text(form, "languages").lower())
    if langs:
        requirements["languages"] = langs
    licences = split_list(form_text(form, "licenses").lower())
    if licences:
        requirements["licenses"] = licences
    degree = form_text(form, "min_degree").strip()
    if degree and degree != "none":
        requirements["min_degree"] = degree
    domains = {}
    for part in split_list(form_text(form, "domains")):
        name, sep, level = part.partition(":")
        if not sep:
            problems.append(Problem("requirements.domains", f"write domain:level, e.g. history:3; got {part!r}"))
            continue
        domains[name.strip().lower()] = int_or_text(level)
    if domains:
        requirements["domains"] = domains
    if requirements:
        data["requirements"] = requirements
    for key in ("overlap", "lease_minutes", "max_minutes_per_task"):
        value = int_or_text(form_text(form, key))
        if value is not None:
            data[key] = value
    adaptive = {k: _number(form_text(form, f"overlap_{k}")) for k in ("min", "max", "target_confidence")}
    if any(v is not None for v in adaptive.values()):  # adaptive overlap replaces the fixed one
        data["overlap"] = {k: v for k, v in adaptive.items() if v is not None}
    floor = {k: _number(form_text(form, f"quality_floor_{k}"))
             for k in ("gold_accuracy", "min_gold", "reliability", "min_judgments")}
    for measure, evidence in (("gold_accuracy", "min_gold"), ("reliability", "min_judgments")):
        if floor[measure] is None and floor[evidence] is not None:
            problems.append(Problem(f"quality_floor.{measure}", f"is required with {evidence.replace('_', ' ')}"))
    if floor["gold_accuracy"] is not None or floor["reliability"] is not None:
        data["quality_floor"] = {k: v for k, v in floor.items() if v is not None}
    for key in ("budget_usd", "hourly_rate_usd"):
        value = form_text(form, key).strip()  # parsed strictly by the domain: "12,50" is refused, never scaled
        if value:
            data[key] = value
    if problems:
        raise ValidationFailed(problems)
    return data


def exam_answers_from_form(form: FormData, task_type: TaskType, questions: list[dict]) -> dict[str, dict]:
    """Answers to an exam, ``{question_id: response}``, from fields named ``q{id}:…`` (see
    templates/exams/take.html). A question left blank is left out: it scores zero."""
    spec = task_spec(task_type)
    answers: dict[str, dict] = {}
    for q in questions:
        answer = spec.exam_answer_from_form(form, f"q{q['question_id']}:", q)
        if answer is not None:
            answers[str(q["question_id"])] = answer
    return answers
