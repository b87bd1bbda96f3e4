"""``ranking``: an order over k model answers, best first. Exports as all k·(k−1)/2 pairs
(preference or ranking format) or KTO halves (best desirable, worst undesirable).

Consensus: the categorical answer is the top choice (what the truth-inference model sees);
a consensus record orders the answers with that top choice first and the rest by their mean
rank among the counted judgments (Borda). Two answers with equal mean rank are tied and never
become a pair; every pair reports the share of judgments that ranked it the same way."""

from __future__ import annotations

from typing import Any

from ..checks import Checker, join
from .base import (
    ExportFormat,
    FormFields,
    GoldScore,
    ItemConsensus,
    Obj,
    TaskType,
    TaskTypeSpec,
    check_prompt_or_messages,
    check_responses,
    form_text,
    int_or_text,
)
from .pairs import consensus_meta, kto_records, pair_agreement, pair_records


class Ranking(TaskTypeSpec):
    name = TaskType.ranking
    title = "Ranking"
    shortcuts = (("j / k / ↑ / ↓", "Select an answer"), ("Shift ↑ / ↓", "Move it up / down"),
                 ("1–9", "Put it at that rank"))
    formats = (ExportFormat.preference, ExportFormat.ranking, ExportFormat.kto)
    consensus_formats = (ExportFormat.preference, ExportFormat.ranking)
    has_consensus = True
    gradable = True
    shuffled = True

    def check_payload(self, c: Checker, payload: Obj, loc: str) -> None:
        check_prompt_or_messages(c, payload, loc)
        check_responses(c, payload, loc, exactly=None)
        c.no_unknown(payload, ("prompt", "messages", "responses"), loc)

    def check_response(self, c: Checker, obj: Obj, options: Obj, payload: Obj, loc: str) -> Obj:
        c.no_unknown(obj, ("order",), loc)
        k = len(payload.get("responses", []))
        order = obj.get("order")
        if (not isinstance(order, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in order)
                or sorted(order) != list(range(k))):
            c.fail(join(loc, "order"), f"must list every response index 0..{k - 1} once, best first; got {order!r}")
        return {"order": order}

    def gold_shorthand(self, gold: Any) -> Obj | None:
        return {"order": gold}

    def response_from_form(self, form: FormFields, options: Obj, item: Obj) -> Obj:
        return {"order": [int_or_text(v) for v in form.getlist("order") if isinstance(v, str)]}

    def exam_answer_from_form(self, form: FormFields, prefix: str, question: Obj) -> Obj | None:
        ranks = {r["index"]: int_or_text(form_text(form, f"{prefix}rank-{r['index']}"))
                 for r in question.get("responses") or []}
        if all(v is None for v in ranks.values()):
            return None
        given = {i: v for i, v in ranks.items() if isinstance(v, int)}
        if len(given) == len(ranks) and sorted(given.values()) == list(range(1, len(ranks) + 1)):
            return {"order": sorted(given, key=given.__getitem__)}
        return {"order": list(ranks.values())}  # not a ranking: the domain names the problem

    def gold_score(self, response: Obj, gold: Obj) -> GoldScore | None:
        return GoldScore(1, int(response["order"][0] == gold["order"][0]))

    def categorical_answers(self, response: Obj) -> list[tuple[int, str]]:
        return [(0, str(response["order"][0]))]

    def records(self, fmt: ExportFormat, payload: Obj, response: Obj, metadata: Obj) -> list[Obj]:
        order = list(response["order"])
        if fmt == ExportFormat.kto:
            return kto_records(payload, order, metadata)
        return pair_records(payload, order, metadata)

    def consensus_records(self, fmt: ExportFormat, payload: Obj, options: Obj,
                          consensus: ItemConsensus, metadata: Obj) -> list[Obj]:
        orders = [list(r["order"]) for r in consensus.responses]
        top = int(consensus.parts[0].answer or 0)
        k = len(payload["responses"])
        mean_rank = {i: sum(o.index(i) for o in orders) / len(orders) for i in range(k)}
        rest = sorted((i for i in range(k) if i != top), key=lambda i: (mean_rank[i], i))
        order = [top, *rest]
        meta = {**metadata, **consensus_meta(consensus), "consensus_order": order,
                "mean_rank": {str(i): round(mean_rank[i], 4) for i in range(k)}}
        out = []
        for record in pair_records(payload, order, meta):
            better, worse = record["metadata"]["chosen_index"], record["metadata"]["rejected_index"]
            if better != top and mean_rank[better] == mean_rank[worse]:
                continue  # tied in mean rank: no evidence which is better
            record["metadata"] = {**record["metadata"], "pair_agreement": pair_agreement(orders, better, worse)}
            out.append(record)
        return out


SPEC = Ranking()
