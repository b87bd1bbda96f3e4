"""Records shared by the comparison types (preference, ranking): pairs and KTO halves built
from a best-first order of the item's responses."""

from __future__ import annotations

from .base import ItemConsensus, Obj, assistant, prompt_messages


def pair_records(payload: Obj, order: list[int], metadata: Obj, extra: Obj | None = None,
                 top_level: Obj | None = None) -> list[Obj]:
    """Every (better, worse) pair of a best-first order: k·(k−1)/2 records."""
    texts = [r["text"] for r in payload["responses"]]
    prompt = prompt_messages(payload)
    out = []
    for i, better in enumerate(order):
        for worse in order[i + 1:]:
            meta = {**metadata, "chosen_index": better, "rejected_index": worse,
                    "chosen_model": payload["responses"][better].get("model"),
                    "rejected_model": payload["responses"][worse].get("model"), **(extra or {})}
            out.append({"prompt": prompt, "chosen": assistant(texts[better]),
                        "rejected": assistant(texts[worse]), **(top_level or {}), "metadata": meta})
    return out


def kto_records(payload: Obj, order: list[int], metadata: Obj) -> list[Obj]:
    """The best answer labelled desirable, the worst undesirable."""
    texts = [r["text"] for r in payload["responses"]]
    prompt = prompt_messages(payload)
    return [{"prompt": prompt, "completion": assistant(texts[order[0]]), "label": True, "metadata": metadata},
            {"prompt": prompt, "completion": assistant(texts[order[-1]]), "label": False, "metadata": metadata}]


def pair_agreement(responses_orders: list[list[int]], better: int, worse: int) -> float | None:
    """Share of judgments (best-first orders) that put ``better`` above ``worse``."""
    if not responses_orders:
        return None
    above = sum(1 for order in responses_orders if order.index(better) < order.index(worse))
    return round(above / len(responses_orders), 4)


def consensus_meta(consensus: ItemConsensus) -> Obj:
    part = consensus.parts[0]
    return {"judgments": consensus.judgments, "agreement": part.agreement,
            "confidence": None if part.confidence is None else round(part.confidence, 4)}
