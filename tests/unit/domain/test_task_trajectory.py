"""``trajectory``: agent traces in three layouts stored as one, graded step by step."""

from __future__ import annotations

import json

import pytest

from expertloop.domain.checks import Checker
from expertloop.domain.errors import ValidationFailed
from expertloop.domain.grading import categorical_answers
from expertloop.domain.items import parse_item
from expertloop.domain.projects import check_options
from expertloop.domain.records import consensus_records, export_records, formats_for
from expertloop.domain.responses import parse_response
from expertloop.domain.tasks import ExportFormat, ItemConsensus, PartConsensus, task_type

TASK = "What is the weather in Paris?"
PLAIN = {"task": TASK, "steps": [
    {"kind": "thought", "text": "I should look the weather up."},
    {"kind": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"},
    {"kind": "tool_result", "output": "18°C, cloudy", "id": "call_1", "name": "get_weather"},
    {"kind": "message", "role": "assistant", "text": "It is 18°C and cloudy in Paris."}]}
OPENAI = {"messages": [
    {"role": "system", "content": "You are a helpful agent."},
    {"role": "user", "content": TASK},
    {"role": "assistant", "content": "I should look the weather up.",
     "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18°C, cloudy"},
    {"role": "assistant", "content": "It is 18°C and cloudy in Paris."}]}
ANTHROPIC = {"system": "You are a helpful agent.", "messages": [
    {"role": "user", "content": TASK},
    {"role": "assistant", "content": [
        {"type": "text", "text": "I should look the weather up."},
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1",
                                  "content": [{"type": "text", "text": "18°C, cloudy"}]}]},
    {"role": "assistant", "content": [{"type": "text", "text": "It is 18°C and cloudy in Paris."}]}]}
OPTIONS = {"failure_modes": ["wrong tool", "wrong arguments", "hallucinated result", "gave up", "unsafe action"]}
GOOD = {"steps": ["correct", "correct", None, "correct"], "verdict": "success"}


def locs(exc) -> list[str]:
    return [p.loc for p in exc.value.problems]


def test_three_layouts_are_stored_as_the_plain_one():
    plain = parse_item(PLAIN, "trajectory", OPTIONS).payload
    assert plain == PLAIN
    assert parse_item(OPENAI, "trajectory", OPTIONS).payload == {**PLAIN, "system": "You are a helpful agent."}
    assert parse_item(ANTHROPIC, "trajectory", OPTIONS).payload == {**PLAIN, "system": "You are a helpful agent."}
    # the tool definitions are kept; a malformed list of them is refused
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    assert parse_item({**OPENAI, "tools": tools}, "trajectory", OPTIONS).payload["tools"] == tools
    with pytest.raises(ValidationFailed) as exc:
        parse_item({**PLAIN, "tools": "get_weather"}, "trajectory", OPTIONS, "line 3")
    assert locs(exc) == ["line 3.tools"]
    # malformed arguments are kept as text: they are part of what is graded
    broken = json.loads(json.dumps(OPENAI))
    broken["messages"][2]["tool_calls"][0]["function"]["arguments"] = "{city: Paris"
    assert parse_item(broken, "trajectory", OPTIONS).payload["steps"][1]["arguments"] == "{city: Paris"


def test_unknown_shapes_are_refused_with_the_field():
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"task": "t", "steps": [{"kind": "plan", "text": "x"}, {"kind": "tool_call", "args": {}},
                                           "hello"]}, "trajectory", OPTIONS, "line 2")
    assert locs(exc) == ["line 2.steps[0].kind", "line 2.steps[1].args", "line 2.steps[1].name", "line 2.steps[2]"]
    bad = json.loads(json.dumps(ANTHROPIC))
    bad["messages"][1]["content"][1]["type"] = "image"
    bad["messages"][2]["content"][0].pop("tool_use_id")
    with pytest.raises(ValidationFailed) as exc:
        parse_item(bad, "trajectory", OPTIONS, "line 7")
    assert locs(exc) == ["line 7.messages[1].content[1].type", "line 7.messages[2].content[0].tool_use_id"]
    bad = json.loads(json.dumps(OPENAI))
    bad["messages"][2]["tool_calls"][0] = {"id": "x", "name": "get_weather"}
    bad["messages"][3]["role"] = "function"
    with pytest.raises(ValidationFailed) as exc:
        parse_item(bad, "trajectory", OPTIONS, "line 9")
    assert locs(exc) == ["line 9.messages[2].tool_calls[0].function", "line 9.messages[3].role"]
    with pytest.raises(ValidationFailed) as exc:
        parse_item({"task": "t", "messages": [], "steps": []}, "trajectory", OPTIONS, "line 1")
    assert "exactly one of" in str(exc.value)
    with pytest.raises(ValidationFailed, match="no step of the agent's own"):
        parse_item({"task": "t", "steps": [{"kind": "tool_result", "output": "x"}]}, "trajectory", OPTIONS)


def test_failure_modes_default_and_are_checked():
    c = Checker()
    assert check_options(c, "trajectory", {}) == OPTIONS and not c.problems
    check_options(c, "trajectory", {"failure_modes": ["a", "a"]})
    check_options(c, "trajectory", {"failure_modes": []})
    assert [p.loc for p in c.problems] == ["options.failure_modes"] * 2


def test_responses_label_the_agents_steps_and_derive_the_first_failure():
    out = parse_response({"steps": ["correct", {"label": "incorrect", "note": " wrong city "}, None, "correct"],
                          "failure_modes": ["wrong arguments"], "verdict": "failure", "rationale": "Lyon"},
                         "trajectory", OPTIONS, PLAIN)
    assert out == {"steps": [{"label": "correct"}, {"label": "incorrect", "note": "wrong city"}, None,
                             {"label": "correct"}],
                   "first_failure": 1, "failure_modes": ["wrong arguments"], "verdict": "failure", "rationale": "Lyon"}
    assert parse_response(GOOD, "trajectory", OPTIONS, PLAIN)["first_failure"] is None
    with pytest.raises(ValidationFailed) as exc:
        parse_response({"steps": ["incorrect", "incorrect", "correct", {"label": "meh"}], "first_failure": 1,
                        "failure_modes": ["typo"], "verdict": "win"}, "trajectory", OPTIONS, PLAIN)
    assert locs(exc) == ["response.steps[2]", "response.steps[3].label", "response.first_failure",
                         "response.failure_modes[0]", "response.verdict"]
    with pytest.raises(ValidationFailed, match="one entry per step"):
        parse_response({"steps": ["correct"], "verdict": "success"}, "trajectory", OPTIONS, PLAIN)
    with pytest.raises(ValidationFailed, match="no step is labelled incorrect"):
        parse_response({**GOOD, "first_failure": 0}, "trajectory", OPTIONS, PLAIN)


def test_records_consensus_parts_and_consensus_records():
    assert formats_for("trajectory") == [ExportFormat.trajectory, ExportFormat.raw]
    response = parse_response({"steps": ["correct", "incorrect", None, "unnecessary"],
                               "failure_modes": ["wrong arguments"], "verdict": "partial"},
                              "trajectory", OPTIONS, PLAIN)
    [record] = export_records("trajectory", ExportFormat.trajectory, PLAIN, response, {"item": "t1"})
    assert record["task"] == TASK and record["verdict"] == "partial" and record["first_failure"] == 1
    assert record["steps"][1]["arguments"] == '{"city": "Paris"}' and record["steps"][1]["label"] == "incorrect"
    assert record["steps"][2]["label"] is None and record["steps"][2]["output"] == "18°C, cloudy"
    assert categorical_answers("trajectory", response) == [(0, "correct"), (1, "incorrect"), (3, "unnecessary"),
                                                           (4, "partial")]
    good = parse_response(GOOD, "trajectory", OPTIONS, PLAIN)
    cons = ItemConsensus([response, good], [
        PartConsensus("correct", 0.99, {"correct": 2}), PartConsensus("incorrect", 0.7, {"incorrect": 1, "correct": 1}),
        PartConsensus("correct", 0.6, {"unnecessary": 1, "correct": 1}),
        PartConsensus("partial", 0.55, {"partial": 1, "success": 1})])
    [merged] = consensus_records("trajectory", ExportFormat.trajectory, PLAIN, OPTIONS, cons, {"item": "t1"})
    assert [s["label"] for s in merged["steps"]] == ["correct", "incorrect", None, "correct"]
    assert merged["verdict"] == "partial" and merged["first_failure"] == 1
    assert merged["failure_modes"] == ["wrong arguments"]  # half the judgments named it
    assert merged["metadata"]["verdict_distribution"] == {"success": 0.5, "partial": 0.5, "failure": 0.0}
    per_judgment = export_records("trajectory", ExportFormat.trajectory, PLAIN, response, {"item": "t1"})[0]
    task_type("trajectory").attach_consensus(per_judgment, OPTIONS, PLAIN, cons)
    assert per_judgment["steps"][1]["consensus_label"] == "incorrect"
    assert per_judgment["metadata"]["consensus_verdict"] == "partial"


def test_the_form_gives_labels_for_the_agents_steps_only():
    class Form(dict):
        def getlist(self, key):
            value = self.get(key)
            return value if isinstance(value, list) else [] if value is None else [value]

    form = Form({"label-0": "correct", "label-1": "incorrect", "note-1": "Lyon, not Paris", "label-3": "correct",
                 "failure_modes": ["wrong arguments"], "verdict": "failure", "rationale": "wrong city"})
    assert task_type("trajectory").response_from_form(form, OPTIONS, PLAIN) == {
        "steps": [{"label": "correct"}, {"label": "incorrect", "note": "Lyon, not Paris"}, None, {"label": "correct"}],
        "failure_modes": ["wrong arguments"], "verdict": "failure", "rationale": "wrong city"}
