"""Aggregating numeric scores (ratings, Likert points, rubric totals) per item."""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from ._validation import FloatArray, IntArray, as_1d, check_same_length, params_repr
from .encode import factorize

__all__ = ["MeanScore", "MedianScore", "ReliabilityWeightedScore", "ScoreAggregator"]


class ScoreAggregator:
    """Base class: ``fit(items, trainers, scores)`` on long-format numeric judgments.

    After ``fit``: ``item_ids_`` and ``scores_`` (aligned), ``n_ratings_`` per
    item and ``trainer_ids_``. NaN scores are dropped.
    """

    def __repr__(self) -> str:
        return params_repr(self)

    def fit(self, items: Any, trainers: Any, scores: Any) -> Self:
        items, trainers = as_1d(items, "items"), as_1d(trainers, "trainers")
        scores = np.asarray(scores, dtype=np.float64)
        check_same_length(items=items, trainers=trainers, scores=scores)
        keep = ~np.isnan(scores)
        if not keep.all():
            items, trainers, scores = items[keep], trainers[keep], scores[keep]
        if scores.size == 0:
            raise ValueError("no scores given")
        self.item_ids_, item_codes = factorize(items)
        self.trainer_ids_, trainer_codes = factorize(trainers)
        self.n_ratings_ = np.bincount(item_codes, minlength=len(self.item_ids_))
        self.scores_ = self._fit_codes(item_codes, trainer_codes, scores)
        return self

    def fit_predict(self, items: Any, trainers: Any, scores: Any) -> FloatArray:
        """Fit and return ``scores_`` (aligned with ``item_ids_``)."""
        out: FloatArray = self.fit(items, trainers, scores).scores_
        return out

    def _fit_codes(self, items: IntArray, trainers: IntArray, scores: FloatArray) -> FloatArray:  # pragma: no cover
        raise NotImplementedError


def _group_mean(codes: IntArray, values: FloatArray, n: int, weights: FloatArray | None = None) -> FloatArray:
    if weights is None:
        mean: FloatArray = np.bincount(codes, weights=values, minlength=n) / np.bincount(codes, minlength=n)
        return mean
    return (np.bincount(codes, weights=values * weights, minlength=n)
            / np.bincount(codes, weights=weights, minlength=n))


class MeanScore(ScoreAggregator):
    """Plain mean score per item: unbiased when trainers are interchangeable."""

    def _fit_codes(self, items: IntArray, trainers: IntArray, scores: FloatArray) -> FloatArray:
        return _group_mean(items, scores, len(self.item_ids_))


class MedianScore(ScoreAggregator):
    """Median score per item (mean of the two middle scores for even counts).

    Robust to a minority of careless or extreme raters.
    """

    def _fit_codes(self, items: IntArray, trainers: IntArray, scores: FloatArray) -> FloatArray:
        order = np.lexsort((scores, items))
        s = scores[order]
        counts = self.n_ratings_
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        lo = start + (counts - 1) // 2
        hi = start + counts // 2
        median: FloatArray = 0.5 * (s[lo] + s[hi])
        return median


class ReliabilityWeightedScore(ScoreAggregator):
    """Score = item value + trainer offset + noise with a per-trainer variance.

    ``score[i, t] = mu_i + b_t + e,  e ~ N(0, sigma_t^2)``, fitted by alternating
    least squares (coordinate ascent on the penalised likelihood): offsets are
    the average residual of each trainer, shrunk towards 0 with
    ``offset_prior`` pseudo-ratings; variances are the mean squared residuals,
    shrunk towards the pooled variance with ``variance_prior`` pseudo-ratings;
    item values are precision-weighted means of offset-corrected scores. This
    corrects lenient/severe trainers and down-weights noisy ones. The model is
    Piech, C. et al. (2013), "Tuned models of peer assessment in MOOCs",
    *EDM 2013* (model PG1) with point estimates instead of Gibbs sampling.

    Offsets are centred so that the rating-weighted mean offset is 0: item
    values stay on the trainers' average scale.

    Parameters
    ----------
    max_iter : int, default 100
    tol : float, default 1e-8
        Stop when no item value moves by more than ``tol`` (in score units).
    offset_prior : float, default 1.0
        Pseudo-ratings of zero offset per trainer.
    variance_prior : float, default 2.0
        Pseudo-ratings at the pooled residual variance per trainer.

    Attributes
    ----------
    scores_ : (n_items,) estimated item values, aligned with ``item_ids_``.
    offsets_ : (n_trainers,) leniency (+) / severity (-), aligned with ``trainer_ids_``.
    variances_ : (n_trainers,) noise variance per trainer.
    reliabilities_ : (n_trainers,) ``1 / variances_``, the weight of a trainer's score.
    n_iter_ : iterations run.
    """

    def __init__(
        self, max_iter: int = 100, tol: float = 1e-8, offset_prior: float = 1.0, variance_prior: float = 2.0
    ) -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.offset_prior = offset_prior
        self.variance_prior = variance_prior

    def _fit_codes(self, items: IntArray, trainers: IntArray, scores: FloatArray) -> FloatArray:
        n_i, n_t = len(self.item_ids_), len(self.trainer_ids_)
        n_per_t = np.bincount(trainers, minlength=n_t).astype(np.float64)
        mu = _group_mean(items, scores, n_i)
        offsets = np.zeros(n_t)
        resid = scores - mu[items]
        pooled = max(float(np.mean(resid**2)), 1e-12)
        variances = np.full(n_t, pooled)
        n_iter = 0
        for step in range(1, int(self.max_iter) + 1):
            n_iter = step
            offsets = np.bincount(trainers, weights=scores - mu[items], minlength=n_t).astype(np.float64)
            offsets /= n_per_t + self.offset_prior
            offsets -= np.dot(offsets, n_per_t) / n_per_t.sum()
            resid = scores - mu[items] - offsets[trainers]
            pooled = max(float(np.mean(resid**2)), 1e-12)
            sq = np.bincount(trainers, weights=resid**2, minlength=n_t)
            variances = (sq + self.variance_prior * pooled) / (n_per_t + self.variance_prior)
            variances = np.maximum(variances, 1e-12)
            w = 1.0 / variances[trainers]
            new_mu = _group_mean(items, scores - offsets[trainers], n_i, weights=w)
            delta = np.abs(new_mu - mu).max()
            mu = new_mu
            if delta < self.tol:
                break
        self.offsets_ = offsets
        self.variances_ = variances
        self.reliabilities_ = 1.0 / variances
        self.n_iter_ = n_iter
        return mu
