"""Confidence intervals: Wilson score for proportions, percentile bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import norm

from ._validation import as_1d, check_confidence, check_random_state, check_same_length

__all__ = ["bootstrap_ci", "percentile_interval", "wilson_interval"]


def wilson_interval(successes: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval for a binomial proportion.

    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. *JASA* 22, 209-212. Unlike the normal ("Wald")
    interval it stays inside [0, 1] and behaves at 0 or n successes, which is
    the normal case for a trainer's gold accuracy on a handful of items.

    Works element-wise on arrays; returns ``(low, high)`` (floats for scalar
    input). ``n == 0`` gives ``(0, 1)``.
    """
    confidence = check_confidence(confidence)
    k = np.asarray(successes, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    if np.any(k < 0) or np.any(k > n_arr):
        raise ValueError("need 0 <= successes <= n")
    z = norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n_arr > 0, k / n_arr, 0.0)
        denom = 1.0 + z * z / n_arr
        centre = (p + z * z / (2.0 * n_arr)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n_arr + z * z / (4.0 * n_arr * n_arr)) / denom
        # exact at the edges (the formula gives 0 and 1 up to rounding)
        low = np.where((n_arr > 0) & (k > 0), np.clip(centre - half, 0.0, 1.0), 0.0)
        high = np.where((n_arr > 0) & (k < n_arr), np.clip(centre + half, 0.0, 1.0), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def percentile_interval(samples: Any, confidence: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap replicates (NaNs ignored)."""
    confidence = check_confidence(confidence)
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_ci(
    statistic: Callable[..., float], *arrays: Any, n_boot: int = 1000, confidence: float = 0.95,
    random_state: Any = None,
) -> tuple[float, float]:
    """Percentile bootstrap interval for ``statistic(*arrays)``, resampling rows.

    Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*, ch. 13.
    Rows (index positions shared by all ``arrays``) are drawn with replacement
    ``n_boot`` times; ``statistic`` must accept the resampled arrays and return a
    float. For clustered data (several judgments per item) resample clusters
    instead -- the agreement functions in this package do that themselves.

    Returns ``(low, high)``.
    """
    if not arrays:
        raise ValueError("need at least one array to resample")
    columns = [as_1d(a) if np.ndim(a) <= 1 else np.asarray(a) for a in arrays]
    n = check_same_length(**{f"a{i}": a for i, a in enumerate(columns)})
    rng = check_random_state(random_state)
    reps = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = rng.integers(0, n, n)
        reps[b] = statistic(*(a[idx] for a in columns))
    return percentile_interval(reps, confidence)
