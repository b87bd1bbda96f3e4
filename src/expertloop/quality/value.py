"""Value of more judgments: the expected increase of P(correct) from asking a source again.

See :func:`expected_accuracy_gain` and the module :mod:`expertloop.quality.adaptive`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from ._validation import FloatArray, IntArray
from .posteriors import _LOG_FLOOR, _check_confusions

__all__ = ["expected_accuracy_gain"]

_GAIN_EPS = 1e-12  # gains smaller than this are numerical noise


@lru_cache(maxsize=64)
def _outcomes(n_labels: int, k: int) -> tuple[IntArray, FloatArray]:
    """All count vectors of ``n_labels`` judgments over ``k`` classes + log multinomial coefs."""
    counts: list[list[int]] = []

    def rec(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            counts.append([*prefix, left])
            return
        for c in range(left, -1, -1):
            rec([*prefix, c], left - c, slots - 1)

    rec([], n_labels, k)
    arr = np.array(counts, dtype=np.int64)  # (n_outcomes, K)
    log_coef = math.lgamma(n_labels + 1) - np.array(
        [sum(math.lgamma(x + 1) for x in row) for row in arr]
    )
    return arr, log_coef


def _outcome_likelihoods(confusion: FloatArray, n_labels: int) -> FloatArray:
    """``L[k, o]`` = P(outcome o of ``n_labels`` judgments | true k), outcome = counts."""
    k = confusion.shape[0]
    if n_labels == 1:
        return confusion
    counts, log_coef = _outcomes(n_labels, k)
    log_c = np.log(np.maximum(confusion, _LOG_FLOOR))  # (K, K)
    return np.asarray(np.exp(log_c @ counts.T.astype(np.float64) + log_coef), dtype=np.float64)  # (K, n_outcomes)


def expected_accuracy_gain(posterior: Any, confusion: Any, n_labels: int = 1) -> FloatArray:
    """Expected increase of P(correct) from ``n_labels`` more judgments.

    P(correct) is the max posterior (the item takes its arg-max label). For one
    judgment from a source with confusion ``C`` (``C[true, observed]``)::

        gain = sum_obs P(obs) * max_k P(k | obs) - max_k p_k
             = sum_obs max_k p_k C[k, obs]   - max_k p_k

    For ``n_labels > 1`` the sum runs over the count vectors of the ``n``
    judgments (multinomial likelihoods: the judgments are assumed to come from
    different trainers with the same confusion, independent given the class).

    Parameters
    ----------
    posterior : ``(K,)`` or ``(n_items, K)``
    confusion : ``(K, K)`` confusion matrix of the trainer or tier asked next.
    n_labels : int >= 1, default 1

    Returns
    -------
    float array of shape ``()`` or ``(n_items,)``; >= 0 (up to rounding).
    """
    p = np.asarray(posterior, dtype=np.float64)
    c = _check_confusions(confusion, "confusion")
    if c.ndim != 2:
        raise ValueError(f"confusion must be (K, K), got shape {c.shape}")
    if p.shape[-1] != c.shape[0]:
        raise ValueError(f"posterior has {p.shape[-1]} classes, confusion {c.shape[0]}")
    n_labels = int(n_labels)
    if n_labels < 1:
        raise ValueError(f"n_labels must be >= 1, got {n_labels}")
    lik = _outcome_likelihoods(c, n_labels)  # (K, n_outcomes)
    joint = p[..., :, None] * lik  # (..., K, n_outcomes)
    gain = joint.max(axis=-2).sum(axis=-1) - p.max(axis=-1)
    return np.asarray(np.where(gain < _GAIN_EPS, 0.0, gain), dtype=np.float64)
