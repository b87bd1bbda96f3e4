"""``label``: one choice from the project's fixed label set. Also the type of gold questions,
qualification exams and classic labelling. Consensus: one categorical part per item."""

from __future__ import annotations

from typing import Any

from ..checks import Checker, join
from ..errors import Problem
from .base import (
    ExportFormat,
    FormFields,
    GoldScore,
    ItemConsensus,
    Obj,
    TaskType,
    TaskTypeSpec,
    check_ai_assistance,
    form_text,
    reply_json,
    rounded,
    split_list,
)


class Label(TaskTypeSpec):
    name = TaskType.label
    title = "Label"
    shortcuts = (("1–9", "Choose a label"),)
    formats = (ExportFormat.label,)
    consensus_formats = (ExportFormat.label,)
    has_consensus = True
    gradable = True
    ai_kinds = ("preselect",)

    def check_options(self, c: Checker, options: Obj) -> Obj:
        labels = c.string_list(options, "labels", "options", min_len=2)
        if labels is not None and len(set(labels)) != len(labels):
            c.fail("options.labels", "must not repeat a label")
        check_ai_assistance(c, options, self.ai_kinds)
        c.no_unknown(options, ("labels", "ai_assistance"), "options")
        return options

    def suggestion_prompt(self, payload: Obj, options: Obj, kind: str) -> list[Obj]:
        fields = "\n".join(f"{k.upper()}: {v}" for k, v in payload.items() if isinstance(v, str | int | float))
        return [{"role": "system", "content": "You are a judge helping an expert annotator: choose the one label "
                                              "that fits the item. Reply with JSON {\"label\": LABEL}."},
                {"role": "user", "content": f"{fields}\nLABELS: {', '.join(options.get('labels') or [])}"}]

    def suggestion_from_reply(self, reply: str, payload: Obj, options: Obj, kind: str) -> Obj | None:
        labels = list(options.get("labels") or [])
        parsed = reply_json(reply)
        value = parsed.get("label") if isinstance(parsed, dict) else reply.strip().strip('."')
        match = [lab for lab in labels if str(value).strip().lower() == lab.lower()]
        return {"label": match[0]} if match else None

    def suggestion_outcome(self, suggestion: Obj, response: Obj) -> tuple[list[str], list[str], str]:
        return [suggestion["label"]], [response["label"]], "answers"

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        return {"labels": split_list(form_text(form, "labels"))}

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        if not payload:
            c.fail(loc, "needs at least one field to show, such as \"text\"")

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("label",), loc)
        labels = options.get("labels", [])
        label = obj.get("label")
        if label not in labels:
            c.fail(join(loc, "label"), f"must be one of {', '.join(labels)}; got {label!r}")
        return {"label": label}

    def gold_shorthand(self, gold: Any) -> Obj | None:
        return {"label": gold}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        return {"label": form_text(form, "label")}

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        label = form_text(form, prefix + "label")
        return {"label": label} if label else None

    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        return GoldScore(1, int(response["label"] == gold["label"]))

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        return [(0, str(response["label"]))]

    def answer_space(self, options: Obj, payload: Obj) -> tuple[str, ...]:
        return tuple(options.get("labels") or ())

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        return [{**payload, "label": response["label"], "metadata": metadata}]

    def attach_consensus(self, record: Obj, options: Obj, payload: Obj, consensus: ItemConsensus) -> None:
        part = consensus.parts[0]
        record["consensus_label"] = part.answer
        record["consensus_posterior"] = rounded(part.confidence)
        record["consensus_distribution"] = part.distribution(self.answer_space(options, payload))

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        part = consensus.parts[0]
        return [{**payload, "label": part.answer,
                 "distribution": part.distribution(self.answer_space(options, payload)),
                 "metadata": {**metadata, "judgments": consensus.judgments, "agreement": part.agreement,
                              "confidence": rounded(part.confidence)}}]


SPEC = Label()
