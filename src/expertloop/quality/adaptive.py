"""Adaptive overlap and cost-aware routing: when to ask for one more judgment, and from whom.

Expert judgments are expensive, so a programme should buy a second (third, ...)
judgment for an item only while it can still change the answer, and buy it from
the cheapest source that changes it enough. This module holds the decision maths
(pure numpy, no I/O); the aggregators in this package (e.g. :class:`DawidSkene`)
supply the inputs: per-item posteriors and per-trainer confusion matrices.

The maths lives in one module per concept, all re-exported here:
:mod:`.posteriors` (posteriors from confusions, shrinking confusions),
:mod:`.stopping` (confidence, stopping, escalation, serving order),
:mod:`.value` (expected accuracy gain of more judgments) and :mod:`.tiers`
(tiers and cost-aware routing); :class:`AdaptiveOverlap`, the per-submission
decision that combines them, is defined here.

Model and conventions
---------------------
Classes are integer codes ``0..K-1`` (the column order of an aggregator's
``probas_`` / ``classes_``). A *confusion matrix* ``C`` is ``K x K`` with
``C[true, observed] = P(trainer answers observed | true class)``; rows sum to 1.
This is the Dawid-Skene model (Dawid & Skene 1979): given the true class,
judgments are independent, so the posterior of an item is

    P(true = k | labels) ∝ prior[k] * prod_j C_{t_j}[k, label_j],

computed here in log space.

Decision rules
--------------
* **Adaptive overlap** (repeated labelling only where needed; Sheng, Provost &
  Ipeirotis 2008, "Get another label?", KDD; Ipeirotis, Provost, Sheng & Wang
  2014, "Repeated labeling using multiple noisy labelers", *Data Mining and
  Knowledge Discovery* 28(2)): an item gets at least ``min_judgments``
  judgments, then more only while its confidence (max posterior) is below
  ``target_confidence``, up to ``max_judgments``. Items in doubt are served
  first (:func:`in_doubt_order`). Welinder & Perona (2010, "Online
  crowdsourcing: rating annotators and obtaining cost-effective labels", CVPR
  workshops) use the same loop with the annotator model re-estimated online.
* **Escalation**: an item still below target after ``max_judgments`` goes to the
  senior tier (:func:`escalate`).
* **Cost-aware routing** (:func:`choose_tier`): among tiers of trainers, each
  with a confusion matrix (or just an accuracy) and a price per judgment, buy
  from the tier with the largest *expected accuracy gain per dollar*
  (:func:`expected_accuracy_gain`), or from none when no tier's gain per dollar
  reaches ``min_gain_per_dollar``.
* **Calibration**: maximum-likelihood confusion matrices of trainers with few
  judgments are over-confident, so are the posteriors built on them, and a
  confidence target then stops items too early. For stopping decisions,
  recompute the posteriors (:func:`posteriors`) with the confusions shrunk
  toward the pool's (:func:`shrink_confusions`); keep the aggregator's own
  labels as the answer.

Expected accuracy gain
----------------------
If the item is labelled with its arg-max class, P(correct) is its max posterior.
After ``n`` more judgments from a source with confusion ``C`` it becomes, in
expectation over the judgments' outcomes ``o``,

    E[max_k P(k | o)] = sum_o P(o) * max_k p_k L_k(o) / P(o) = sum_o max_k p_k L_k(o),

with ``L_k(o)`` the probability of outcome ``o`` given true class ``k``. The
gain is that minus the current max posterior; it is never negative (information
never hurts a Bayes decision) and is zero when no outcome can change the
arg-max. One-step (myopic) gains are often exactly zero even far from
certainty (e.g. a binary item with two agreeing judgments from a 90%-accurate
trainer: no single judgment can overturn it), which is why :func:`choose_tier`
also looks ``lookahead`` judgments ahead and uses the best gain per dollar over
1..``lookahead`` judgments from each tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .posteriors import align_confusions, posterior_for_item, posteriors, shrink_confusions
from .stopping import _check_rule, escalate, in_doubt_order, item_confidence, needs_more
from .tiers import Tier, choose_tier, choose_tiers, one_coin_confusion
from .value import expected_accuracy_gain

__all__ = [
    "AdaptiveOverlap",
    "Tier",
    "align_confusions",
    "choose_tier",
    "choose_tiers",
    "escalate",
    "expected_accuracy_gain",
    "in_doubt_order",
    "item_confidence",
    "needs_more",
    "one_coin_confusion",
    "posterior_for_item",
    "posteriors",
    "shrink_confusions",
]


class AdaptiveOverlap:
    """Stopping and routing rule applied after each judgment of an item.

    Parameters
    ----------
    min_judgments : int, default 1
        Regular judgments every item gets regardless of confidence. Use >= 2
        when trainer confusions are estimated from the same data (with one
        judgment per item Dawid-Skene cannot tell a good trainer from a bad one).
    max_judgments : int, default 5
        Cap on regular judgments per item.
    target_confidence : float, default 0.95
        Stop once the max posterior reaches this.
    escalate : bool, default True
        When an item is still below target at ``max_judgments``, answer
        ``"escalate"`` (send to the senior tier) instead of ``"done"``.
    max_senior_judgments : int, default 2
        Cap on senior judgments for an escalated item; after it the item is
        ``"done"`` whatever its confidence.
    tiers : sequence of :class:`Tier`, optional
        For :meth:`route` (cost-aware choice of who labels next).
    min_gain_per_dollar, lookahead : as in :func:`choose_tier`.

    The posterior comes from :func:`posterior_for_item` with the trainers'
    current confusion matrices (e.g. from the latest :class:`DawidSkene` fit)
    and class prior.
    """

    DONE = "done"
    MORE = "more"
    ESCALATE = "escalate"

    def __init__(
        self,
        min_judgments: int = 1,
        max_judgments: int = 5,
        target_confidence: float = 0.95,
        escalate: bool = True,
        max_senior_judgments: int = 2,
        tiers: Sequence[Tier] | None = None,
        min_gain_per_dollar: float = 0.0,
        lookahead: int = 2,
    ) -> None:
        _check_rule(min_judgments, max_judgments, target_confidence)
        if int(max_senior_judgments) < 0:
            raise ValueError("max_senior_judgments must be >= 0")
        self.min_judgments = int(min_judgments)
        self.max_judgments = int(max_judgments)
        self.target_confidence = float(target_confidence)
        self.escalate = bool(escalate)
        self.max_senior_judgments = int(max_senior_judgments)
        self.tiers = tuple(tiers) if tiers is not None else None
        self.min_gain_per_dollar = float(min_gain_per_dollar)
        self.lookahead = int(lookahead)

    def __repr__(self) -> str:
        return (
            f"AdaptiveOverlap(min_judgments={self.min_judgments}, "
            f"max_judgments={self.max_judgments}, target_confidence={self.target_confidence}, "
            f"escalate={self.escalate}, max_senior_judgments={self.max_senior_judgments})"
        )

    def decide_posterior(self, posterior: Any, n_regular: int, n_senior: int = 0) -> str:
        """``"done"`` | ``"more"`` | ``"escalate"`` from a posterior and judgment counts.

        ``n_regular``/``n_senior``: judgments the item has from regular and
        senior trainers. Once escalated (``n_senior > 0``) an item is done at
        target or after ``max_senior_judgments``, else it needs another senior.
        """
        conf = float(item_confidence(posterior))
        reached = conf >= self.target_confidence
        if n_senior > 0:
            if reached or n_senior >= self.max_senior_judgments:
                return self.DONE
            return self.ESCALATE
        if n_regular < self.min_judgments:
            return self.MORE
        if reached:
            return self.DONE
        if n_regular < self.max_judgments:
            return self.MORE
        if self.escalate and self.max_senior_judgments > 0:
            return self.ESCALATE
        return self.DONE

    def decide(self, labels: Any, trainer_confusions: Any, prior: Any = None, n_senior: int = 0) -> str:
        """Decision for one item after a submission.

        ``labels``: class codes of all its judgments so far;
        ``trainer_confusions``: ``(len(labels), K, K)`` confusion of each
        judgment's trainer (:func:`align_confusions`); ``prior``: class prior;
        ``n_senior``: how many of the judgments came from the senior tier.
        """
        post = posterior_for_item(labels, trainer_confusions, prior)
        n = int(np.asarray(labels).size)
        return self.decide_posterior(post, n - int(n_senior), int(n_senior))

    def decide_many(self, probas: Any, n_regular: Any, n_senior: Any = None) -> npt.NDArray[np.object_]:
        """Vectorised :meth:`decide_posterior`: an array of ``"done"/"more"/"escalate"``."""
        p = np.asarray(probas, dtype=np.float64)
        conf = item_confidence(p)
        n_reg = np.asarray(n_regular)
        n_sen = np.zeros_like(n_reg) if n_senior is None else np.asarray(n_senior)
        reached = conf >= self.target_confidence
        out = np.full(conf.shape, self.DONE, dtype=object)
        senior = n_sen > 0
        out[senior & ~reached & (n_sen < self.max_senior_judgments)] = self.ESCALATE
        reg = ~senior
        more = needs_more(
            p, n_reg, self.min_judgments, self.max_judgments, self.target_confidence
        )
        out[reg & more] = self.MORE
        if self.escalate and self.max_senior_judgments > 0:
            stuck = escalate(p, n_reg, self.max_judgments, self.target_confidence)
            out[reg & ~more & stuck] = self.ESCALATE
        return out

    def route(self, posterior: Any) -> Tier | None:
        """Cost-aware choice of the tier for the next judgment (:func:`choose_tier`).

        Returns ``None`` when the item is at target confidence, or when no
        tier's expected gain per unit cost exceeds ``min_gain_per_dollar``.
        """
        if self.tiers is None:
            raise ValueError("AdaptiveOverlap.route needs tiers")
        if float(item_confidence(posterior)) >= self.target_confidence:
            return None
        return choose_tier(posterior, self.tiers, self.min_gain_per_dollar, self.lookahead)
