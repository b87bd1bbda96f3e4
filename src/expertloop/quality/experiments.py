"""Statistics of experiments inside a programme: randomisation, tests, intervals, power.

An experiment compares arms (guideline versions, trainer pools, task-page variants, pay rules)
on outcomes measured per judgment, per gold answer or per item. Everything here takes plain
numbers or arrays and returns plain numbers, so the same maths serves the report, the console
and a notebook.

* :func:`block_arm` -- stratified permuted-block randomisation (Zelen 1974, "The randomization
  and stratification of patients to clinical trials", J Chronic Dis 27): within each stratum
  every block of ``block_size`` consecutive units holds each arm equally often, in an order drawn
  from a seeded generator, so arms stay balanced within every domain and the draw can be
  recomputed from (seed, stratum, position) alone.
* :func:`two_proportions` -- difference of two proportions with Newcombe's hybrid score interval
  (Newcombe 1998, "Interval estimation for the difference between independent proportions",
  Statistics in Medicine 17, method 10) and the pooled two-sided z-test.
* :func:`bootstrap_ratio` -- ratio of two arms' means (time per task, cost per item) with a
  percentile bootstrap interval and a bootstrap p-value for "ratio = 1" (Efron & Tibshirani
  1993, *An Introduction to the Bootstrap*, ch. 13 and 16): those outcomes are skewed, and a
  ratio is what a buyer reads ("arm B costs 0.8 times as much per item").
* :func:`holm` -- Holm's step-down adjustment of p-values across outcomes (Holm 1979, "A simple
  sequentially rejective multiple test procedure", Scand J Statist 6): the family-wise error
  rate stays at the level however many outcomes a report shows.
* :func:`n_per_arm_two_proportions` -- judgments per arm to detect a given difference of two
  proportions (Fleiss, Levin & Paik 2003, *Statistical Methods for Rates and Proportions*,
  eq. 4.14, without continuity correction).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from .intervals import wilson_interval

__all__ = [
    "ProportionTest",
    "RatioTest",
    "block_arm",
    "bootstrap_ratio",
    "holm",
    "n_per_arm_two_proportions",
    "two_proportions",
]


def block_arm(seed: int, stratum: str, position: int, n_arms: int, block_size: int | None = None) -> int:
    """Arm (0 .. n_arms - 1) of the ``position``-th unit (0-based) randomised in ``stratum``.

    Permuted blocks: the units at positions ``b * block_size ... (b + 1) * block_size - 1`` of a
    stratum get a seeded shuffle of ``block_size / n_arms`` copies of every arm. ``block_size``
    defaults to ``2 * n_arms`` and must be a multiple of ``n_arms``. Deterministic in its inputs.
    """
    if n_arms < 1:
        raise ValueError(f"n_arms must be >= 1, got {n_arms}")
    if position < 0:
        raise ValueError(f"position must be >= 0, got {position}")
    size = 2 * n_arms if block_size is None else int(block_size)
    if size < n_arms or size % n_arms:
        raise ValueError(f"block_size must be a positive multiple of n_arms ({n_arms}), got {size}")
    block, offset = divmod(int(position), size)
    digest = hashlib.sha256(f"{int(seed)}\x00{stratum}\x00{block}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    order = rng.permutation(np.repeat(np.arange(n_arms), size // n_arms))
    return int(order[offset])


@dataclass(frozen=True)
class ProportionTest:
    """Arm B against arm A: ``difference`` = p_b - p_a with its interval and two-sided p-value."""

    p_a: float
    p_b: float
    difference: float
    low: float
    high: float
    p_value: float


def two_proportions(x_a: float, n_a: float, x_b: float, n_b: float, confidence: float = 0.95) -> ProportionTest:
    """Difference of proportions x_b/n_b - x_a/n_a: Newcombe hybrid score interval, pooled z-test.

    Successes may be fractional (partial gold credit). With an empty arm the interval is
    (-1, 1) and the p-value 1."""
    if min(n_a, n_b) < 0 or not (0 <= x_a <= n_a and 0 <= x_b <= n_b):
        raise ValueError("need 0 <= successes <= n in both arms")
    if n_a == 0 or n_b == 0:
        p_a = x_a / n_a if n_a else float("nan")
        p_b = x_b / n_b if n_b else float("nan")
        return ProportionTest(p_a, p_b, float("nan"), -1.0, 1.0, 1.0)
    p_a, p_b = x_a / n_a, x_b / n_b
    lo_a, hi_a = (float(v) for v in wilson_interval(x_a, n_a, confidence))
    lo_b, hi_b = (float(v) for v in wilson_interval(x_b, n_b, confidence))
    d = p_b - p_a
    low = d - math.sqrt((p_b - lo_b) ** 2 + (hi_a - p_a) ** 2)
    high = d + math.sqrt((hi_b - p_b) ** 2 + (p_a - lo_a) ** 2)
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p_value = 1.0 if se == 0 else float(2 * norm.sf(abs(d) / se))
    return ProportionTest(p_a, p_b, d, max(low, -1.0), min(high, 1.0), p_value)


@dataclass(frozen=True)
class RatioTest:
    """Arm B against arm A: ``ratio`` = mean_b / mean_a with its bootstrap interval and p-value."""

    mean_a: float
    mean_b: float
    ratio: float
    low: float
    high: float
    p_value: float


def bootstrap_ratio(a: Any, b: Any, *, n_boot: int = 2000, confidence: float = 0.95,
                    random_state: int | np.random.Generator | None = 0) -> RatioTest:
    """Ratio of means of two independent samples (e.g. seconds per task, dollars per item).

    Each arm is resampled with replacement on its own; the interval is the percentile interval
    of the ratio, the p-value twice the smaller share of bootstrap ratios on either side of 1
    (at least 1 / n_boot). Needs at least two values in each arm and a positive mean in arm A."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.size < 2 or y.size < 2 or not x.mean() > 0:
        mean_a = float(x.mean()) if x.size else float("nan")
        mean_b = float(y.mean()) if y.size else float("nan")
        ratio = mean_b / mean_a if x.size and mean_a > 0 and y.size else float("nan")
        return RatioTest(mean_a, mean_b, ratio, float("nan"), float("nan"), 1.0)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    mx = x[rng.integers(0, x.size, (n_boot, x.size))].mean(axis=1)
    my = y[rng.integers(0, y.size, (n_boot, y.size))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(mx > 0, my / mx, np.inf)
    tail = (1 - confidence) / 2
    ordered = np.sort(ratios)  # order statistics: no interpolation between infinite ratios
    low = float(ordered[int(np.floor(tail * (n_boot - 1)))])
    high = float(ordered[int(np.ceil((1 - tail) * (n_boot - 1)))])
    below = float(np.mean(ratios <= 1.0))
    above = float(np.mean(ratios >= 1.0))
    p_value = min(1.0, max(2 * min(below, above), 1.0 / n_boot))
    return RatioTest(float(x.mean()), float(y.mean()), float(y.mean() / x.mean()), low, high, p_value)


def holm(p_values: Any) -> np.ndarray:
    """Holm-adjusted p-values, in the input order (NaN stays NaN and is not counted)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out


def n_per_arm_two_proportions(p: float, difference: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Judgments per arm for a two-sided test at ``alpha`` to detect ``p`` against ``p + difference``
    (``p - difference`` when that would pass 1) with the given power."""
    if not 0 < difference < 1:
        raise ValueError(f"difference must be in (0, 1), got {difference}")
    p1 = min(max(p, 1e-6), 1 - 1e-6)
    p2 = p1 + difference if p1 + difference < 1 else p1 - difference
    if not 0 < p2 < 1:
        raise ValueError(f"cannot detect a difference of {difference} from {p}")
    z_a, z_b = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    mean = (p1 + p2) / 2
    n = (z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    return math.ceil(float(n) / difference**2)
