"""``sft``: the trainer writes the ideal answer to a prompt (or the next assistant turn of a
conversation). Exports as TRL's conversational SFT layout, or as desirable KTO completions."""

from __future__ import annotations

from ..checks import Checker
from .base import (
    ExportFormat,
    FormFields,
    Obj,
    TaskType,
    TaskTypeSpec,
    assistant,
    check_ai_assistance,
    check_prompt_or_messages,
    form_text,
    prompt_messages,
)


class Sft(TaskTypeSpec):
    name = TaskType.sft
    title = "Ideal answer"
    formats = (ExportFormat.sft, ExportFormat.kto)
    ai_kinds = ("draft",)

    def check_options(self, c: Checker, options: Obj) -> Obj:
        check_ai_assistance(c, options, self.ai_kinds)
        c.no_unknown(options, ("ai_assistance",), "options")
        return options

    def suggestion_prompt(self, payload: Obj, options: Obj, kind: str) -> list[Obj]:
        return prompt_messages(payload)

    def suggestion_from_reply(self, reply: str, payload: Obj, options: Obj, kind: str) -> Obj | None:
        return {"completion": reply.strip()} if reply.strip() else None

    def suggestion_outcome(self, suggestion: Obj, response: Obj) -> tuple[str, str, str]:
        return suggestion["completion"], response["completion"], "characters"

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        check_prompt_or_messages(c, payload, loc)
        c.no_unknown(payload, ("prompt", "messages"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("completion",), loc)
        return {"completion": c.text(obj, "completion", loc)}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        return {"completion": form_text(form, "completion")}

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        if fmt == ExportFormat.kto:
            return [{"prompt": prompt_messages(payload), "completion": assistant(response["completion"]),
                     "label": True, "metadata": metadata}]
        return [{"messages": prompt_messages(payload) + assistant(response["completion"]), "metadata": metadata}]


SPEC = Sft()
