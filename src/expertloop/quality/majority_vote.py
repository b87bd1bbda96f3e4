"""Majority vote and weighted majority vote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._base import CategoricalAggregator, clamp_gold, vote_counts
from ._validation import FloatArray, IntArray, as_1d, check_random_state
from .encode import EncodedLabels, lookup

__all__ = ["MajorityVote", "WeightedMajorityVote"]


def _break_ties(scores: FloatArray, random_state: Any) -> IntArray:
    """Arg-max per row; ties to the lowest class code, or uniformly at random."""
    if random_state is None:
        return np.asarray(np.argmax(scores, axis=1), dtype=np.intp)
    rng = check_random_state(random_state)
    best = scores.max(axis=1, keepdims=True)
    tied = np.isclose(scores, best, rtol=1e-12, atol=1e-12)
    noise = rng.random(scores.shape)
    noise[~tied] = -1.0
    return np.asarray(np.argmax(noise, axis=1), dtype=np.intp)


class MajorityVote(CategoricalAggregator):
    """Most frequent label per item.

    The baseline every other aggregator must beat (Snow et al. 2008, "Cheap and
    fast -- but is it good?"). ``probas_`` holds vote shares.

    Parameters
    ----------
    random_state : None, int or np.random.Generator
        Tie-breaking. ``None`` (default): deterministic, the tied class that comes
        first in ``classes_`` wins. Otherwise a tied class is drawn uniformly at
        random with this generator.
    """

    def __init__(self, random_state: Any = None) -> None:
        self.random_state = random_state

    def _fit_encoded(self, data: EncodedLabels) -> FloatArray:
        counts = vote_counts(data)
        self.counts_ = counts
        return clamp_gold(counts / counts.sum(axis=1, keepdims=True), data)

    def _decide(self, probas: FloatArray) -> IntArray:
        return _break_ties(probas, self.random_state)


class WeightedMajorityVote(CategoricalAggregator):
    """Majority vote where each trainer's vote counts with a per-trainer weight.

    Weights are either given, or estimated from each trainer's agreement with
    the current consensus (plain majority vote at first, gold labels where known)
    and re-estimated ``n_iter`` times:

    * ``"log_odds"`` (default): ``w = log((K-1) * acc / (1 - acc))``, the
      Bayes-optimal weight when a trainer is right with probability ``acc`` and
      errs uniformly (Nitzan & Paroush 1982; Li & Yu 2014). Accuracy is
      smoothed with ``smoothing`` pseudo-votes at chance level so that a trainer
      with few labels stays near weight 0. Worse-than-chance trainers get a
      negative weight.
    * ``"agreement"``: ``w = acc`` (the "Wawa" heuristic).

    Parameters
    ----------
    weights : "log_odds", "agreement", mapping trainer -> weight, or None
        ``None`` is the same as ``"log_odds"``. Trainers missing from a mapping
        get weight 1.
    n_iter : int
        Rounds of re-estimating the weights against the weighted consensus.
    smoothing : float
        Pseudo-count for the accuracy estimate.
    random_state : None, int or np.random.Generator
        Tie-breaking, as in :class:`MajorityVote`.

    Attributes
    ----------
    weights_ : (n_trainers,) weight per entry of ``trainer_ids_``.
    accuracies_ : (n_trainers,) estimated accuracy (NaN when weights were given).
    scores_ : (n_items, n_classes) summed vote weights; ``labels_`` is their arg-max.
    probas_ : for "log_odds", the softmax of ``scores_`` (the posterior of the
        one-coin model with a uniform class prior); otherwise the positive part
        of ``scores_`` normalised per item.
    """

    def __init__(
        self, weights: Any = "log_odds", n_iter: int = 1, smoothing: float = 1.0, random_state: Any = None
    ) -> None:
        self.weights = weights
        self.n_iter = n_iter
        self.smoothing = smoothing
        self.random_state = random_state

    def _accuracy_weights(self, data: EncodedLabels, consensus: IntArray) -> tuple[FloatArray, FloatArray]:
        k = max(data.n_classes, 2)
        hit = (consensus[data.items] == data.labels).astype(np.float64)
        n = np.bincount(data.trainers, minlength=data.n_trainers)
        right = np.bincount(data.trainers, weights=hit, minlength=data.n_trainers)
        s = self.smoothing
        acc = (right + s / k) / (n + s)
        if self.weights == "agreement":
            return acc, acc
        acc_c = np.clip(acc, 1e-6, 1 - 1e-6)
        return np.log((k - 1) * acc_c / (1 - acc_c)), acc

    def _fit_encoded(self, data: EncodedLabels) -> FloatArray:
        mode = "log_odds" if self.weights is None else self.weights
        if isinstance(mode, Mapping):
            w = np.ones(data.n_trainers)
            keys = as_1d(list(mode.keys()))
            codes = lookup(data.trainer_ids, keys)
            vals = np.asarray(list(mode.values()), dtype=np.float64)
            w[codes[codes >= 0]] = vals[codes >= 0]
            self.weights_, self.accuracies_ = w, np.full(data.n_trainers, np.nan)
            scores = vote_counts(data, w[data.trainers])
        elif mode in ("log_odds", "agreement"):
            scores = vote_counts(data)
            for _ in range(max(int(self.n_iter), 1)):
                consensus = np.argmax(scores, axis=1)
                if data.gold_items.size:
                    consensus[data.gold_items] = data.gold_labels
                w, acc = self._accuracy_weights(data, consensus)
                scores = vote_counts(data, w[data.trainers])
            self.weights_, self.accuracies_ = w, acc
        else:
            raise ValueError(f"unknown weights={mode!r}")
        self.scores_ = scores
        self._decision = clamp_gold(scores.copy(), data)
        # log-odds votes add up to the log-posterior of the one-coin model
        probas = np.exp(scores - scores.max(axis=1, keepdims=True)) if mode == "log_odds" else np.maximum(scores, 0.0)
        total = probas.sum(axis=1, keepdims=True)
        probas = np.divide(probas, total, out=np.full_like(probas, 1.0 / data.n_classes), where=total > 0)
        return clamp_gold(probas, data)

    def _decide(self, probas: FloatArray) -> IntArray:
        return _break_ties(self._decision, self.random_state)
