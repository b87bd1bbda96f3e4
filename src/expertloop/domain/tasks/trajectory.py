"""``trajectory``: grade an agent run step by step. An item is an agent trace imported in one of
three layouts and stored in the plain one:

- plain: ``{"task", "steps": [{"kind": "thought" | "tool_call" | "tool_result" | "message", …}],
  "system", "tools"}``;
- OpenAI chat messages: ``{"messages": [...]}`` with assistant ``tool_calls`` and ``tool``
  messages carrying the results (``tool_call_id``);
- Anthropic messages: ``{"messages": [...], "system"}`` whose content blocks are ``text``,
  ``thinking``, ``tool_use`` and ``tool_result``.

The first user message of a ``messages`` trace is the task (unless ``task`` is given). Unknown
shapes are refused with the field's location (``messages[3].content[1].type``).

The trainer labels each of the agent's own steps (thoughts, tool calls, its messages)
``correct``, ``incorrect`` or ``unnecessary`` with an optional note; tool results and user
messages are context and take no label. The first step labelled incorrect is the first failure.
The trainer also picks failure modes from the project's list and gives a verdict (``success``,
``partial``, ``failure``) with a rationale. Consensus: each labelled step is a categorical part
(its index), and the verdict is one more part (index = number of steps)."""

from __future__ import annotations

import json
from typing import Any

from ..checks import Checker, join, type_name
from ..errors import Problem
from .base import (
    ExportFormat,
    FormFields,
    ItemConsensus,
    Obj,
    TaskType,
    TaskTypeSpec,
    form_text,
    rounded,
    split_list,
)

KINDS = ("thought", "tool_call", "tool_result", "message")
LABELS = ("correct", "incorrect", "unnecessary")
VERDICTS = ("success", "partial", "failure")
DEFAULT_FAILURE_MODES = ("wrong tool", "wrong arguments", "hallucinated result", "gave up", "unsafe action")
STEP_FIELDS = {"thought": ("kind", "text"), "message": ("kind", "role", "text"),
               "tool_call": ("kind", "name", "arguments", "id"),
               "tool_result": ("kind", "output", "id", "name", "is_error")}
MESSAGE_ROLES = ("user", "assistant", "system")


def graded(step: Obj) -> bool:
    """Whether a step is the agent's own (labelled) rather than context."""
    return step["kind"] in ("thought", "tool_call") or (step["kind"] == "message" and step.get("role") == "assistant")


def _text_of(c: Checker, content: Any, where: str) -> str | None:
    """A message's text: a string, or a list of ``{"type": "text", "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for i, part in enumerate(content):
            ploc = join(where, i)
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                c.fail(ploc, "must be a {\"type\": \"text\", \"text\"} part")
                continue
            texts.append(part["text"])
        return "\n".join(texts)
    c.fail(where, f"must be a string or a list of text parts, got {type_name(content)}")
    return None


def _arguments(value: Any) -> Any:
    """Tool-call arguments as an object where they parse; kept as text otherwise (a model's
    malformed arguments are part of what is graded)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _result_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class _Trace:
    """Normalises one imported trace, recording problems with their location."""

    def __init__(self, c: Checker, loc: str):
        self.c, self.loc = c, loc
        self.steps: list[Obj] = []
        self.task: str | None = None
        self.call_names: dict[str, str] = {}
        self.system: list[str] = []

    def add(self, step: Obj) -> None:
        self.steps.append(step)

    def text(self, text: str, role: str, has_calls: bool) -> None:
        if not text.strip():
            return
        if role == "user" and self.task is None:
            self.task = text
        elif role == "assistant" and has_calls:
            self.add({"kind": "thought", "text": text})
        else:
            self.add({"kind": "message", "role": role, "text": text})

    # -- plain -------------------------------------------------------------------------------
    def plain(self, payload: Obj) -> None:
        c, loc = self.c, self.loc
        self.task = c.text(payload, "task", loc)
        c.no_unknown(payload, ("task", "steps", "system", "tools"), loc)
        steps = payload.get("steps")
        where = join(loc, "steps")
        if not isinstance(steps, list) or not steps:
            c.fail(where, "must be a non-empty list of {kind, …}")
            return
        for i, step in enumerate(steps):
            sloc = join(where, i)
            if not isinstance(step, dict):
                c.fail(sloc, f"must be an object with a kind, got {type_name(step)}")
                continue
            kind = step.get("kind")
            if kind not in KINDS:
                c.fail(join(sloc, "kind"), f"must be one of {', '.join(KINDS)}; got {kind!r}")
                continue
            c.no_unknown(step, STEP_FIELDS[kind], sloc)
            if kind == "thought":
                self.add({"kind": kind, "text": c.text(step, "text", sloc)})
            elif kind == "message":
                role = step.get("role", "assistant")
                if role not in MESSAGE_ROLES:
                    c.fail(join(sloc, "role"), f"must be one of {', '.join(MESSAGE_ROLES)}; got {role!r}")
                self.add({"kind": kind, "role": role, "text": c.text(step, "text", sloc)})
            elif kind == "tool_call":
                out = {"kind": kind, "name": c.text(step, "name", sloc),
                       "arguments": _arguments(step.get("arguments", {}))}
                if step.get("id") is not None:
                    out["id"] = str(step["id"])
                self.add(out)
            else:
                if "output" not in step:
                    c.fail(join(sloc, "output"), "is required")
                out = {"kind": kind, "output": _result_text(step.get("output", ""))}
                for key in ("id", "name"):
                    if step.get(key) is not None:
                        out[key] = str(step[key])
                if step.get("is_error") is not None:
                    if not isinstance(step["is_error"], bool):
                        c.fail(join(sloc, "is_error"), "must be true or false")
                    out["is_error"] = bool(step["is_error"])
                self.add(out)

    # -- OpenAI / Anthropic messages ---------------------------------------------------------
    def messages(self, payload: Obj) -> None:
        c, loc = self.c, self.loc
        c.no_unknown(payload, ("task", "messages", "system", "tools"), loc)
        if payload.get("task") is not None:
            self.task = c.text(payload, "task", loc)
        messages = payload.get("messages")
        where = join(loc, "messages")
        if not isinstance(messages, list) or not messages:
            c.fail(where, "must be a non-empty list of messages")
            return
        for i, msg in enumerate(messages):
            mloc = join(where, i)
            if not isinstance(msg, dict):
                c.fail(mloc, f"must be a message object, got {type_name(msg)}")
                continue
            role = msg.get("role")
            if role == "system":
                c.no_unknown(msg, ("role", "content", "name"), mloc)
                text = _text_of(c, msg.get("content", ""), join(mloc, "content"))
                if text:
                    self.system.append(text)  # the system prompt is shown apart, not as a step
                continue
            if role == "tool":  # OpenAI: a tool's result
                c.no_unknown(msg, ("role", "content", "tool_call_id", "name"), mloc)
                call_id = msg.get("tool_call_id")
                if not isinstance(call_id, str):
                    c.fail(join(mloc, "tool_call_id"), "is required: the id of the call this answers")
                text = _text_of(c, msg.get("content", ""), join(mloc, "content"))
                out: Obj = {"kind": "tool_result", "output": text or ""}
                if isinstance(call_id, str):
                    out["id"] = call_id
                    name = msg.get("name") or self.call_names.get(call_id)
                    if name:
                        out["name"] = name
                self.add(out)
                continue
            if role not in ("user", "assistant"):
                c.fail(join(mloc, "role"), f"must be one of system, user, assistant, tool; got {role!r}")
                continue
            c.no_unknown(msg, ("role", "content", "tool_calls", "name", "refusal"), mloc)
            content = msg.get("content")
            calls = msg.get("tool_calls")
            if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") != "text" for b in content):
                self._blocks(content, role, join(mloc, "content"))
            elif content is not None:
                text = _text_of(c, content, join(mloc, "content"))
                if text is not None:
                    self.text(text, role, bool(calls))
            if calls is not None:
                self._openai_calls(calls, role, join(mloc, "tool_calls"))
        if self.task is None:
            c.fail(where, "needs a user message with the task (or give \"task\")")

    def _openai_calls(self, calls: Any, role: str, where: str) -> None:
        c = self.c
        if role != "assistant" or not isinstance(calls, list):
            c.fail(where, "must be a list of calls on an assistant message")
            return
        for j, call in enumerate(calls):
            cloc = join(where, j)
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict):
                c.fail(join(cloc, "function"), "is required: {name, arguments}")
                continue
            c.no_unknown(call, ("id", "type", "function"), cloc)
            name = c.text(fn, "name", join(cloc, "function"))
            out: Obj = {"kind": "tool_call", "name": name, "arguments": _arguments(fn.get("arguments", {}))}
            if isinstance(call.get("id"), str):
                out["id"] = call["id"]
                if name:
                    self.call_names[call["id"]] = name
            self.add(out)

    def _blocks(self, blocks: list[Any], role: str, where: str) -> None:
        c = self.c
        has_calls = any(isinstance(b, dict) and b.get("type") == "tool_use" for b in blocks)
        for j, block in enumerate(blocks):
            bloc = join(where, j)
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                text = c.text(block, "text", bloc, allow_empty=True)
                if text is not None:
                    self.text(text, role, has_calls)
            elif kind in ("thinking", "redacted_thinking"):
                if isinstance(block.get("thinking"), str) and block["thinking"].strip():
                    self.add({"kind": "thought", "text": block["thinking"]})
            elif kind == "tool_use" and role == "assistant":
                name = c.text(block, "name", bloc)
                out: Obj = {"kind": "tool_call", "name": name, "arguments": _arguments(block.get("input", {}))}
                if isinstance(block.get("id"), str):
                    out["id"] = block["id"]
                    if name:
                        self.call_names[block["id"]] = name
                self.add(out)
            elif kind == "tool_result" and role == "user":
                call_id = block.get("tool_use_id")
                if not isinstance(call_id, str):
                    c.fail(join(bloc, "tool_use_id"), "is required: the id of the tool_use this answers")
                content = block.get("content", "")
                text = _text_of(c, content, join(bloc, "content")) if content is not None else ""
                res: Obj = {"kind": "tool_result", "output": text or ""}
                if isinstance(call_id, str):
                    res["id"] = call_id
                    if call_id in self.call_names:
                        res["name"] = self.call_names[call_id]
                if block.get("is_error") is not None:
                    res["is_error"] = bool(block["is_error"])
                self.add(res)
            else:
                expected = "text, thinking, tool_use" if role == "assistant" else "text, tool_result"
                c.fail(join(bloc, "type"), f"must be one of {expected} in a {role} message; got {kind!r}")


def normalise(c: Checker, payload: Obj, loc: str) -> Obj:
    """The plain layout of an imported trace (problems recorded on ``c``)."""
    trace = _Trace(c, loc)
    has_steps, has_messages = "steps" in payload, "messages" in payload
    if has_steps == has_messages:
        c.fail(loc, "needs exactly one of \"steps\" (plain) or \"messages\" (OpenAI or Anthropic)")
        return payload
    if has_steps:
        trace.plain(payload)
    else:
        trace.messages(payload)
    if not trace.steps:
        c.fail(join(loc, "steps" if has_steps else "messages"), "holds no step after the task")
    if not any(graded(s) for s in trace.steps):
        c.fail(join(loc, "steps" if has_steps else "messages"), "holds no step of the agent's own to grade")
    out: Obj = {"task": trace.task, "steps": trace.steps}
    if payload.get("system") is not None:
        text = _text_of(c, payload["system"], join(loc, "system"))
        if text:
            trace.system.insert(0, text)
    if trace.system:
        out["system"] = "\n\n".join(trace.system)
    tools = payload.get("tools")
    if tools is not None:
        if isinstance(tools, list):
            out["tools"] = tools  # the tool definitions the agent had, kept for reference
        else:
            c.fail(join(loc, "tools"), f"must be a list of tool definitions, got {type_name(tools)}")
    return out


class Trajectory(TaskTypeSpec):
    name = TaskType.trajectory
    title = "Agent trajectory"
    shortcuts = (("j / k", "Next / previous step"), ("1 / 2 / 3", "Correct / incorrect / unnecessary"),
                 ("n", "Note on the active step"), ("s / p / f", "Verdict: success / partial / failure"))
    formats = (ExportFormat.trajectory,)
    consensus_formats = (ExportFormat.trajectory,)
    has_consensus = True

    def check_options(self, c: Checker, options: Obj) -> Obj:
        modes = options.get("failure_modes", list(DEFAULT_FAILURE_MODES))
        if not isinstance(modes, list) or not modes or not all(isinstance(m, str) and m.strip() for m in modes):
            c.fail("options.failure_modes", "must be a non-empty list of names")
            modes = list(DEFAULT_FAILURE_MODES)
        elif len(set(modes)) != len(modes):
            c.fail("options.failure_modes", "must not repeat a failure mode")
        c.no_unknown(options, ("failure_modes",), "options")
        return {**options, "failure_modes": [m.strip() for m in modes]}

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        modes = split_list(form_text(form, "failure_modes"))
        return {"failure_modes": modes} if modes else {}

    # -- items -----------------------------------------------------------------------------
    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        normalise(c, payload, loc)

    def clean_payload(self, c: Checker, payload: Obj, loc: str) -> Obj:
        return normalise(c, payload, loc)

    # -- responses -------------------------------------------------------------------------
    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("steps", "first_failure", "failure_modes", "verdict", "rationale"), loc)
        trace = payload.get("steps", [])
        where = join(loc, "steps")
        raw = obj.get("steps")
        labels: list[Obj | None] = [None] * len(trace)
        if not isinstance(raw, list) or len(raw) != len(trace):
            got = len(raw) if isinstance(raw, list) else type_name(raw)
            c.fail(where, f"must be a list with one entry per step of the trace ({len(trace)}), got {got}; "
                          "null for tool results and user messages")
            raw = []
        for i, (step, entry) in enumerate(zip(trace, raw, strict=False)):
            sloc = join(where, i)
            if not graded(step):
                if entry is not None:
                    c.fail(sloc, f"must be null: a {step['kind'].replace('_', ' ')} is context, not the agent's step")
                continue
            if isinstance(entry, str):
                entry = {"label": entry}
            if not isinstance(entry, dict):
                c.fail(sloc, f"is required: {{label: {' | '.join(LABELS)}, note}}")
                continue
            c.no_unknown(entry, ("label", "note"), sloc)
            label = entry.get("label")
            if label not in LABELS:
                c.fail(join(sloc, "label"), f"must be one of {', '.join(LABELS)}; got {label!r}")
                continue
            note = c.text(entry, "note", sloc, required=False, allow_empty=True)
            labels[i] = {"label": label, **({"note": note.strip()} if note and note.strip() else {})}
        first = next((i for i, e in enumerate(labels) if e and e["label"] == "incorrect"), None)
        given = obj.get("first_failure")
        if given is not None and given != first:
            if isinstance(given, bool) or not isinstance(given, int):
                c.fail(join(loc, "first_failure"), f"must be a step index or null, got {type_name(given)}")
            elif first is None:
                c.fail(join(loc, "first_failure"), "must be null: no step is labelled incorrect")
            else:
                c.fail(join(loc, "first_failure"), f"must be the first step labelled incorrect ({first})")
        allowed = options.get("failure_modes") or list(DEFAULT_FAILURE_MODES)
        modes = c.string_list(obj, "failure_modes", loc, required=False) or []
        for j, mode in enumerate(modes):
            if mode not in allowed:
                c.fail(join(join(loc, "failure_modes"), j), f"must be one of: {', '.join(allowed)}; got {mode!r}")
        verdict = obj.get("verdict")
        if verdict not in VERDICTS:
            c.fail(join(loc, "verdict"), f"must be one of {', '.join(VERDICTS)}; got {verdict!r}")
        rationale = c.text(obj, "rationale", loc, required=False, allow_empty=True)
        return {"steps": labels, "first_failure": first, "failure_modes": list(dict.fromkeys(modes)),
                "verdict": verdict, "rationale": rationale.strip() if rationale and rationale.strip() else None}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        steps: list[Obj | None] = []
        for i, step in enumerate(item.get("steps") or []):
            if not graded(step):
                steps.append(None)
                continue
            label = form_text(form, f"label-{i}").strip()
            note = form_text(form, f"note-{i}").strip()
            steps.append({"label": label or None, **({"note": note} if note else {})})
        out: Obj = {"steps": steps, "failure_modes": [m for m in form.getlist("failure_modes") if isinstance(m, str)],
                    "verdict": form_text(form, "verdict").strip() or None}
        rationale = form_text(form, "rationale").strip()
        if rationale:
            out["rationale"] = rationale
        return out

    # -- quality ---------------------------------------------------------------------------
    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        parts = [(i, e["label"]) for i, e in enumerate(response["steps"]) if e]
        return [*parts, (len(response["steps"]), response["verdict"])]

    def answer_space(self, options: Obj, payload: Obj) -> tuple[str, ...]:
        return LABELS + VERDICTS

    def step_of_part(self, payload: Obj, part: int) -> int | None:
        return part if part < len(payload.get("steps") or []) else None  # the last part is the verdict

    # -- exports ---------------------------------------------------------------------------
    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        steps = [{**export_step(step), "label": (e or {}).get("label"), "note": (e or {}).get("note")}
                 for step, e in zip(payload["steps"], response["steps"], strict=False)]
        return [{"task": payload["task"], "steps": steps, "first_failure": response["first_failure"],
                 "failure_modes": response["failure_modes"], "verdict": response["verdict"],
                 "rationale": response.get("rationale"), "metadata": metadata}]

    def attach_consensus(self, record: Obj, options: Obj, payload: Obj, consensus: ItemConsensus) -> None:
        by_part = consensus_by_part(consensus)
        for i, step in enumerate(record["steps"]):
            part = by_part.get(i)
            step["consensus_label"] = part.answer if part else None
        verdict = by_part.get(len(record["steps"]))
        record["metadata"]["consensus_verdict"] = verdict.answer if verdict else None

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        by_part = consensus_by_part(consensus)
        n = len(payload["steps"])
        steps = []
        for i, step in enumerate(payload["steps"]):
            part = by_part.get(i)
            steps.append({**export_step(step), "label": part.answer if part else None,
                          "confidence": rounded(part.confidence) if part else None,
                          "agreement": part.agreement if part else None,
                          "distribution": part.distribution(LABELS) if part else None})
        verdict = by_part[n]
        first = next((i for i, s in enumerate(steps) if s["label"] == "incorrect"), None)
        modes = sorted({m for r in consensus.responses for m in r["failure_modes"]})
        mode_share = {m: round(sum(m in r["failure_modes"] for r in consensus.responses) / consensus.judgments, 4)
                      for m in modes}
        meta = {**metadata, "judgments": consensus.judgments, "confidence": rounded(consensus.confidence),
                "verdict_confidence": rounded(verdict.confidence), "verdict_agreement": verdict.agreement,
                "verdict_distribution": verdict.distribution(VERDICTS), "failure_mode_shares": mode_share,
                "rationales": [r["rationale"] for r in consensus.responses
                               if r.get("rationale") and r["verdict"] == verdict.answer]}
        return [{"task": payload["task"], "steps": steps, "first_failure": first,
                 "failure_modes": [m for m, share in mode_share.items() if share >= 0.5],
                 "verdict": verdict.answer, "rationale": None, "metadata": meta}]


def consensus_by_part(consensus: ItemConsensus) -> dict[int, Any]:
    """The item's parts by index: the step indices that got labels, then the verdict (``n``);
    ``ItemConsensus.parts`` lists them in that (sorted) order."""
    if all(p.part is not None for p in consensus.parts):
        return consensus.by_part()
    keys = sorted({part for r in consensus.responses for part, _ in SPEC.categorical_answers(r)})
    return dict(zip(keys, consensus.parts, strict=False))


def export_step(step: Obj) -> Obj:
    """A trace step with every field present (so a dataset has one schema) and tool-call
    arguments as JSON text, as OpenAI's layout has them."""
    args = step.get("arguments")
    if args is not None and not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return {"kind": step["kind"], "role": step.get("role"), "text": step.get("text"), "name": step.get("name"),
            "arguments": args,
            "output": step.get("output"), "id": step.get("id"), "is_error": step.get("is_error")}


SPEC = Trajectory()
