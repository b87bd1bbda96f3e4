"""The protocol every task type implements, and the pieces the six built-in types share.

A task type is one subclass of :class:`TaskTypeSpec` (one module under ``domain/tasks/``)
registered in ``domain/tasks/__init__.py``. Everything the rest of the product knows about a
task type it asks the registry: how an item and a response are checked, what a trainer is
shown, which export formats exist and how records are built, how gold is scored, which
categorical answers feed the consensus, and how a browser form becomes a response.
See ``docs/architecture.md`` ("Adding a task type").
"""

from __future__ import annotations

import enum
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ..checks import Checker, join
from ..errors import Problem

Obj = dict[str, Any]  # a JSON object: payloads, responses, options, records


class TaskType(enum.StrEnum):
    sft = "sft"
    preference = "preference"
    ranking = "ranking"
    factcheck = "factcheck"
    rubric = "rubric"
    label = "label"
    steps = "steps"
    trajectory = "trajectory"
    rubric_authoring = "rubric_authoring"
    chat = "chat"


class ExportFormat(enum.StrEnum):
    sft = "sft"
    preference = "preference"
    kto = "kto"
    ranking = "ranking"
    factcheck = "factcheck"
    rubric = "rubric"
    label = "label"
    stepwise = "stepwise"
    trajectory = "trajectory"
    rubrics = "rubrics"
    redteam = "redteam"
    raw = "raw"


ROLES = ("system", "user", "assistant")
MAX_TEXT = 100_000


class FormFields(Protocol):
    """What a submitted HTML form offers (Starlette's ``FormData`` fits); values may be files."""

    def get(self, key: str) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


# -- gold ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldScore:
    """A response against gold: ``correct`` of ``parts`` judged right (one part for a label or a
    choice, one per claim for a fact-check)."""

    parts: int
    correct: int

    @property
    def share(self) -> float:
        return self.correct / self.parts if self.parts else 0.0


# -- consensus -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartConsensus:
    """The consensus on one categorical part of an item (the item itself, or one claim)."""

    answer: str | None                 # the consensus answer (None: no consensus)
    confidence: float | None           # its posterior
    votes: dict[str, int] = field(default_factory=dict)  # counted judgments per answer
    part: int | None = None            # which part of the item (a claim's or a step's index)

    @property
    def total(self) -> int:
        return sum(self.votes.values())

    @property
    def agreement(self) -> float | None:
        """Share of counted judgments that gave the consensus answer."""
        if not self.total or self.answer is None:
            return None
        return round(self.votes.get(self.answer, 0) / self.total, 4)

    def distribution(self, answers: Sequence[str] = ()) -> dict[str, float]:
        """Share of counted judgments per answer (soft labels); every answer in ``answers``
        appears, with 0.0 where nobody gave it."""
        keys = list(answers) + sorted(k for k in self.votes if k not in answers)
        total = self.total or 1
        return {k: round(self.votes.get(k, 0) / total, 4) for k in keys}


@dataclass(frozen=True)
class ItemConsensus:
    """Everything a consensus record of one item rests on: the counted responses and, per
    categorical part, the consensus answer with its posterior and the votes."""

    responses: list[Obj]
    parts: list[PartConsensus]

    @property
    def judgments(self) -> int:
        return len(self.responses)

    def by_part(self) -> dict[int, PartConsensus]:
        """The parts by their index in the item. Only parts some judgment answered are listed, so
        a step nobody rated is absent here rather than shifting every later step; parts built
        without an index are taken in order."""
        return {i if p.part is None else p.part: p for i, p in enumerate(self.parts)}

    @property
    def confidence(self) -> float | None:
        """The weakest part's posterior (an item is only as sure as its least sure claim)."""
        values = [p.confidence for p in self.parts if p.confidence is not None]
        return min(values) if values else None


# -- the protocol --------------------------------------------------------------------------------
class TaskTypeSpec(ABC):
    """One task type. Subclasses set the class attributes and override what differs.

    Methods that check input take a :class:`~expertloop.domain.checks.Checker` and record every
    problem with its location (``response.claims[1].verdict``) instead of raising, so a user
    sees all problems at once.
    """

    name: ClassVar[str]                          # the project's ``task_type`` value
    title: ClassVar[str] = ""                    # human name, e.g. "Fact-check"
    formats: ClassVar[tuple[ExportFormat, ...]] = ()  # export formats besides ``raw``
    consensus_formats: ClassVar[tuple[ExportFormat, ...]] = ()  # formats with ``--consensus``
    has_consensus: ClassVar[bool] = False        # categorical answers exist (consensus, reliability)
    gradable: ClassVar[bool] = False             # gold can be scored (gold items, exams)
    shuffled: ClassVar[bool] = False             # responses shown in a per-assignment order
    escalates_on_disagreement: ClassVar[bool] = False  # split verdicts go to the escalation tier
    scored: ClassVar[bool] = False               # numeric scores per criterion (agreement, leniency)
    pairwise: ClassVar[bool] = False             # a choice between two shown answers (position, length bias)
    compares_authors: ClassVar[bool] = False     # authors compared by candidate_scores (rubric authoring)
    shortcuts: ClassVar[tuple[tuple[str, str], ...]] = ()  # (keys, what they do) the form's inputs bind
    keeps_draft: ClassVar[bool] = False          # the server keeps the work in progress (a live chat)
    ai_kinds: ClassVar[tuple[str, ...]] = ()     # the AI help it can show (``options.ai_assistance.kind``)

    @property
    def template(self) -> str:
        """The form partial under ``web/templates/`` (``tasks/_<name>.html``)."""
        return f"tasks/_{self.name}.html"

    # -- project options -------------------------------------------------------------------
    def check_options(self, c: Checker, options: Obj) -> Obj:
        """Options the type understands (``project.options``), normalised."""
        c.no_unknown(options, (), "options")
        return options

    def options_from_form(self, form: FormFields, problems: list[Problem]) -> Obj:
        """The options the create-project form describes (empty: none); shape problems are
        appended to ``problems``."""
        return {}

    # -- items -----------------------------------------------------------------------------
    @abstractmethod
    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        """Check an imported item's payload (the record without its control fields)."""

    def clean_payload(self, c: Checker, payload: Obj, loc: str) -> Obj:
        """The payload as stored: checked, and normalised where a type accepts several layouts
        (a trajectory's OpenAI or Anthropic messages become its plain steps). Default: checked
        by :meth:`check_payload` and kept as imported."""
        self.check_payload(c, payload, loc)
        return payload

    # -- responses -------------------------------------------------------------------------
    @abstractmethod
    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        """Check a response against the project's options and the item; return it normalised."""

    def gold_shorthand(self, gold: Any) -> Obj | None:
        """A full response from a shorthand gold answer (``"yes"`` for ``{"label": "yes"}``);
        None when the shorthand is not understood."""
        return None

    @abstractmethod
    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        """The response the task form describes (field names: see the type's template).
        Only shape: the rules are checked by :meth:`check_response`."""

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        """An exam answer from fields named ``prefix + …``; None when left blank."""
        return None

    def response_with_draft(self, response: Obj, draft: Obj | None) -> Obj:
        """The response to check and store, given what the trainer submitted and the
        work in progress the server kept (:attr:`keeps_draft` types build it from the draft, so
        what a model wrote cannot be typed in). Default: the submitted response."""
        return response

    # -- AI help ---------------------------------------------------------------------------
    def suggestion_prompt(self, payload: Obj, options: Obj, kind: str) -> list[Obj]:
        """The messages asking a model for a suggestion of ``kind`` on an item."""
        raise NotImplementedError

    def suggestion_from_reply(self, reply: str, payload: Obj, options: Obj, kind: str) -> Obj | None:
        """The suggestion (a response, or part of one) a model's reply gives; None when the
        reply is unusable (nothing is then shown)."""
        raise NotImplementedError

    def suggestion_outcome(self, suggestion: Obj, response: Obj) -> tuple[Any, Any, str]:
        """The suggested and the submitted answer in comparable form, and the unit of the edit
        distance between them: two texts (``characters``: Levenshtein distance) or two lists of
        answers (``answers``: how many differ)."""
        raise NotImplementedError

    # -- what a trainer sees ---------------------------------------------------------------
    def make_presentation(self, payload: Obj, rng: random.Random) -> Obj | None:
        """The per-assignment presentation (e.g. shuffled order), stored with the assignment."""
        if not self.shuffled:
            return None
        order = list(range(len(payload.get("responses", []))))
        rng.shuffle(order)
        return {"order": order}

    def trainer_view(self, payload: Obj, presentation: Obj | None) -> Obj:
        """The payload as a trainer sees it: responses in the presented order, each with its
        imported ``index`` (what ``choice`` / ``order`` refer to), model names withheld."""
        view = {k: v for k, v in payload.items() if k != "responses"}
        if "responses" in payload:
            order = (presentation or {}).get("order") or list(range(len(payload["responses"])))
            view["responses"] = [{"index": i, "text": payload["responses"][i]["text"]} for i in order]
        return view

    # -- quality ---------------------------------------------------------------------------
    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        """How much of a response matches gold; None where no comparison exists."""
        return None

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        """The categorical judgments in a response as (part, value), for consensus."""
        return []

    def answer_space(self, options: Obj, payload: Obj) -> tuple[str, ...]:
        """Every answer a categorical part can take (for soft-label distributions)."""
        return ()

    def score_units(self, response: Obj) -> list[Obj]:
        """A :attr:`scored` response's scores, one ``{criterion: score}`` per scored answer in
        the item's order (one for an item with one answer)."""
        return []

    def step_of_part(self, payload: Obj, part: int) -> int | None:
        """The step position (from 0) a categorical part is, for agreement per step position;
        None for a part that is not a step (a verdict) and for types without steps."""
        return None

    def candidate_scores(self, payload: Obj, response: Obj) -> list[float | None]:
        """The score the judgment's rubric gives each of the item's candidate answers (None where
        it cannot say), for agreement between authors; empty for types that write no rubric."""
        return []

    # -- exports ---------------------------------------------------------------------------
    @abstractmethod
    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        """Training records of one judgment in ``fmt`` (one of :attr:`formats`)."""

    def attach_consensus(  # noqa: B027 - optional hook, a no-op by default
            self, record: Obj, options: Obj, payload: Obj, consensus: ItemConsensus) -> None:
        """Add the item's consensus to a per-judgment record (label and fact-check do)."""

    def left_out_reason(self, fmt: ExportFormat, response: Obj) -> str | None:
        """Why a judgment yields no record in ``fmt`` (e.g. ``"tie"``), or None."""
        return None

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        """One item's records built from its consensus (``fmt`` in :attr:`consensus_formats`)."""
        raise NotImplementedError

    def consensus_left_out_reason(self, fmt: ExportFormat, consensus: ItemConsensus) -> str | None:
        """Why an item's consensus yields no record (``"tie"``, ``"no consensus"``), or None.
        An answer no counted judgment gave is no consensus: a record rests on judgments."""
        if not consensus.parts or any(p.answer is None or not p.votes.get(p.answer) for p in consensus.parts):
            return "no consensus"
        return None


# -- shared helpers ------------------------------------------------------------------------------
def prompt_messages(payload: Obj) -> list[Obj]:
    """The conversation an item starts from, in TRL's conversational layout."""
    if "messages" in payload:
        return [{"role": m["role"], "content": m["content"]} for m in payload["messages"]]
    return [{"role": "user", "content": payload["prompt"]}]


def assistant(text: str) -> list[Obj]:
    return [{"role": "assistant", "content": text}]


def check_prompt_or_messages(c: Checker, payload: Obj, loc: str) -> None:
    has_prompt, has_messages = "prompt" in payload, "messages" in payload
    if has_prompt == has_messages:
        c.fail(loc, "needs exactly one of \"prompt\" or \"messages\"")
        return
    if has_prompt:
        c.text(payload, "prompt", loc)
        return
    messages = payload["messages"]
    where = join(loc, "messages")
    if not isinstance(messages, list) or not messages:
        c.fail(where, "must be a non-empty list of {role, content}")
        return
    for i, msg in enumerate(messages):
        mloc = join(where, i)
        if not isinstance(msg, dict):
            c.fail(mloc, "must be an object with role and content")
            continue
        if msg.get("role") not in ROLES:
            c.fail(join(mloc, "role"), f"must be one of {', '.join(ROLES)}")
        c.text(msg, "content", mloc)
        c.no_unknown(msg, ("role", "content"), mloc)


def check_responses(c: Checker, payload: Obj, loc: str, exactly: int | None) -> None:
    where = join(loc, "responses")
    responses = payload.get("responses")
    if not isinstance(responses, list):
        c.fail(where, "is required: a list of {text, model}")
        return
    if exactly is not None and len(responses) != exactly:
        c.fail(where, f"must hold exactly {exactly} responses, got {len(responses)}")
    elif len(responses) < 2:
        c.fail(where, f"must hold at least 2 responses, got {len(responses)}")
    for i, resp in enumerate(responses):
        rloc = join(where, i)
        if not isinstance(resp, dict):
            c.fail(rloc, "must be an object with text and model")
            continue
        c.text(resp, "text", rloc)
        if resp.get("model") is not None and not isinstance(resp["model"], str):
            c.fail(join(rloc, "model"), "must be a string")
        if resp.get("generation") is not None and not isinstance(resp["generation"], dict):
            c.fail(join(rloc, "generation"), "must be an object (how the answer was generated: model, params, time)")
        c.no_unknown(resp, ("text", "model", "generation"), rloc)


AI_KINDS = ("draft", "preselect")


def check_ai_assistance(c: Checker, options: Obj, kinds: tuple[str, ...]) -> None:
    """``options.ai_assistance``: ``{"model": ENDPOINT, "kind": …}`` (or absent / null)."""
    value = options.get("ai_assistance")
    if value is None:
        return
    loc = "options.ai_assistance"
    if not isinstance(value, dict):
        c.fail(loc, f"must be an object such as {{\"model\": \"NAME\", \"kind\": \"{kinds[0]}\"}}")
        return
    c.text(value, "model", loc, max_len=64)
    if value.get("kind") not in kinds:
        c.fail(join(loc, "kind"), f"must be one of {', '.join(kinds)} for this task type; got {value.get('kind')!r}")
    c.no_unknown(value, ("model", "kind"), loc)


def reply_json(reply: str) -> Any:
    """The JSON object in a model's reply (bare, or inside a fenced block); None if there is none."""
    import json

    text = reply.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("\n") + 1:] if "\n" in text else text
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        return json.loads(text[start:end + 1])
    except ValueError:
        return None


def form_text(form: FormFields, key: str) -> str:
    value = form.get(key)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def int_or_text(value: str) -> int | str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
