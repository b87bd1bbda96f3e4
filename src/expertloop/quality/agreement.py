"""Inter-rater agreement: Krippendorff's alpha, Fleiss' and Cohen's kappa, percent agreement.

All functions take the platform's long format (one row per judgment: item,
trainer, value) and return an :class:`Agreement` with an optional bootstrap
confidence interval. The bootstrap resamples *items* (units) with replacement,
keeping each item's judgments together, and reports the equal-tailed
percentile interval. Each statistic is written as a function of per-item
weights, so a replicate is a weighted sum rather than a rebuild of the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse

from ._validation import Array, FloatArray, IntArray, as_1d, check_random_state, check_same_length
from ._validation import missing_mask as _missing
from .encode import _concat, factorize
from .intervals import percentile_interval

__all__ = ["Agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "percent_agreement"]


class Agreement(NamedTuple):
    """An agreement coefficient with its bootstrap interval (NaN when ``n_boot=0``)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")

    def __float__(self) -> float:
        return float(self.value)


def _long_format(table: Any, items: Any, values: Any, trainers: Any, table_name: str) -> tuple[IntArray, Array]:
    """(item codes, values) from a raters x units matrix or long-format arrays; missing dropped."""
    if table is not None:
        mat = np.asarray(table)
        if mat.ndim != 2:
            raise ValueError(f"{table_name} must be 2-D (raters x items)")
        items = np.broadcast_to(np.arange(mat.shape[1]), mat.shape).ravel()
        values = mat.ravel()
    else:
        if items is None or values is None:
            raise ValueError(f"give either {table_name} or items= and values=")
        items, values = as_1d(items, "items"), as_1d(values, "values")
        check_same_length(items=items, values=values,
                          trainers=None if trainers is None else as_1d(trainers))
    keep = ~_missing(values)
    return factorize(items[keep])[1], values[keep]


_DENSE_CELLS = 20_000_000


def _unit_counts(unit_codes: IntArray, value_codes: IntArray, n_values: int) -> tuple[Any, FloatArray]:
    """(units x values) counts -- dense when small, else sparse -- for units with >= 2 values."""
    n_units = int(unit_codes.max()) + 1 if unit_codes.size else 0
    n: Any
    if n_units * n_values <= _DENSE_CELLS:
        n = np.bincount(unit_codes * n_values + value_codes,
                        minlength=n_units * n_values).reshape(n_units, n_values).astype(np.float64)
        m = n.sum(axis=1)
    else:
        n = sparse.csr_matrix((np.ones(unit_codes.size), (unit_codes, value_codes)),
                              shape=(n_units, n_values))
        n.sum_duplicates()
        m = np.asarray(n.sum(axis=1)).ravel()
    pairable = m >= 2
    return n[pairable], m[pairable]


def _row_quadratic(counts: Any, delta: FloatArray) -> FloatArray:
    """``n_u^T delta n_u`` for every unit row ``n_u`` (sparse input in dense row blocks)."""
    if not sparse.issparse(counts):
        return np.asarray(np.einsum("uv,uv->u", counts @ delta, counts), dtype=np.float64)
    out = np.empty(counts.shape[0])
    step = max(1, _DENSE_CELLS // max(counts.shape[1], 1))
    for start in range(0, counts.shape[0], step):
        block = counts[start:start + step].toarray()
        out[start:start + step] = np.einsum("uv,uv->u", block @ delta, block)
    return out


def _sum_squares(counts: Any) -> FloatArray:
    if sparse.issparse(counts):
        return np.asarray(counts.multiply(counts).sum(axis=1), dtype=np.float64).ravel()
    return np.asarray(np.einsum("uv,uv->u", counts, counts), dtype=np.float64)


def _with_bootstrap(
    stat: Callable[[FloatArray], float], n_units: int, n_boot: int, confidence: float, random_state: Any
) -> Agreement:
    value = stat(np.ones(n_units))
    if not n_boot:
        return Agreement(value)
    rng = check_random_state(random_state)
    reps = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        reps[b] = stat(np.bincount(rng.integers(0, n_units, n_units), minlength=n_units).astype(float))
    return Agreement(value, *percentile_interval(reps, confidence))


def _delta(level: str, domain: Array, marginals: FloatArray | None) -> FloatArray:
    """Krippendorff's squared difference functions between every pair of values."""
    k = domain.size
    if level == "nominal":
        return np.asarray(1.0 - np.eye(k), dtype=np.float64)
    if level == "ordinal":
        if marginals is None:
            raise ValueError("the ordinal metric needs the marginals")
        cum = np.concatenate([[0.0], np.cumsum(marginals)])
        i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        between = cum[hi + 1] - cum[lo]
        return np.asarray((between - (marginals[i] + marginals[j]) / 2.0) ** 2, dtype=np.float64)
    v = domain.astype(np.float64)
    if level == "interval":
        return np.asarray((v[:, None] - v[None, :]) ** 2, dtype=np.float64)
    if level == "ratio":
        s = v[:, None] + v[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = ((v[:, None] - v[None, :]) / s) ** 2
        return np.asarray(np.nan_to_num(d, nan=0.0), dtype=np.float64)
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")


def krippendorff_alpha(reliability_data: Any = None, *, items: Any = None, trainers: Any = None, values: Any = None,
                       level: str = "nominal", n_boot: int = 0, confidence: float = 0.95,
                       random_state: Any = None) -> Agreement:
    """Krippendorff's alpha for any number of trainers, missing data and four metric levels.

    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Annenberg School for Communication, University of Pennsylvania. Chance
    corrected: 1 = perfect agreement, 0 = as good as random pairing of the
    observed values; it handles any number of judgments per item, which is
    what real labelling queues produce.

    Input either as ``reliability_data`` (raters x items matrix, NaN/None =
    missing, like the ``krippendorff`` package) or in long format with
    ``items=`` and ``values=`` (``trainers=`` is accepted for symmetry and only
    length-checked). Items with fewer than two values are not pairable and are
    ignored. ``level``: "nominal", "ordinal" (rank of the sorted distinct
    values), "interval" or "ratio". The interval level uses the closed form
    sum over pairs (a-b)^2 = 2 m sum(a^2) - 2 (sum a)^2, so many distinct
    values cost nothing extra.

    Returns an :class:`Agreement`; NaN when there is no variation at all.
    """
    units, vals = _long_format(reliability_data, items, values, trainers, "reliability_data")
    if level == "interval":
        v = vals.astype(np.float64)
        n_units = int(units.max()) + 1 if units.size else 0
        m = np.bincount(units, minlength=n_units).astype(float)
        s1 = np.bincount(units, weights=v, minlength=n_units)
        s2 = np.bincount(units, weights=v * v, minlength=n_units)
        ok = m >= 2
        m, s1, s2 = m[ok], s1[ok], s2[ok]
        d_interval = (2.0 * m * s2 - 2.0 * s1 * s1) / (m - 1.0)

        def stat_interval(w: FloatArray) -> float:
            n = np.dot(w, m)
            d_e = 2.0 * n * np.dot(w, s2) - 2.0 * np.dot(w, s1) ** 2
            return float(1.0 - (n - 1.0) * np.dot(w, d_interval) / d_e) if d_e > 0 else float("nan")

        return _with_bootstrap(stat_interval, m.size, n_boot, confidence, random_state)

    domain, vcodes = factorize(vals)
    if level in ("interval", "ratio") and domain.dtype.kind not in "iufb":
        raise ValueError(f"{level} level needs numeric values")
    counts, m = _unit_counts(units, vcodes, domain.size)
    fixed: FloatArray | None
    d_unit: FloatArray | None
    if level == "ordinal":
        fixed, d_unit = None, None  # the ordinal metric depends on the (resampled) marginals
    else:
        fixed = _delta(level, domain, None)
        d_unit = _row_quadratic(counts, fixed) / (m - 1.0)

    def stat(w: FloatArray) -> float:
        marg = counts.T @ w
        if fixed is None or d_unit is None:
            delta = _delta(level, domain, marg)
            d_o = float(np.dot(w, _row_quadratic(counts, delta) / (m - 1.0)))
        else:
            delta, d_o = fixed, float(np.dot(w, d_unit))
        d_e = float(marg @ delta @ marg)
        n = marg.sum()
        return float(1.0 - (n - 1.0) * d_o / d_e) if d_e > 0 else float("nan")

    return _with_bootstrap(stat, m.size, n_boot, confidence, random_state)


def _category_counts(table: Any, items: Any, labels: Any, trainers: Any) -> tuple[Any, FloatArray]:
    """(units x categories) counts from a count table or long-format labels."""
    if table is not None:
        counts = np.asarray(table, dtype=np.float64)
        if counts.ndim != 2:
            raise ValueError("table must be 2-D (items x categories)")
        m = counts.sum(axis=1)
        keep = m >= 2
        return counts[keep], m[keep]
    units, labs = _long_format(None, items, labels, trainers, "table")
    _, codes = factorize(labs)
    return _unit_counts(units, codes, int(codes.max()) + 1 if codes.size else 0)


def fleiss_kappa(table: Any = None, *, items: Any = None, trainers: Any = None, labels: Any = None,
                 n_boot: int = 0, confidence: float = 0.95, random_state: Any = None) -> Agreement:
    """Fleiss' kappa for many trainers on nominal labels.

    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    *Psychological Bulletin* 76(5), 378-382. ``table`` is an items x categories
    count matrix (``table[i, j]`` = trainers who put item i in category j), or
    pass long-format ``items=`` and ``labels=``. With unequal numbers of
    judgments per item, per-item agreement is averaged over items and category
    shares are pooled over all judgments (the usual generalisation); items with
    fewer than two judgments are ignored.
    """
    counts, m = _category_counts(table, items, labels, trainers)
    p_unit = (_sum_squares(counts) - m) / (m * (m - 1.0))

    def stat(w: FloatArray) -> float:
        p_bar = np.dot(w, p_unit) / w.sum()
        p_j = (counts.T @ w) / np.dot(w, m)
        p_e = float(np.dot(p_j, p_j))
        return float((p_bar - p_e) / (1.0 - p_e)) if p_e < 1.0 else float("nan")

    return _with_bootstrap(stat, m.size, n_boot, confidence, random_state)


def percent_agreement(table: Any = None, *, items: Any = None, trainers: Any = None, labels: Any = None,
                      n_boot: int = 0, confidence: float = 0.95, random_state: Any = None) -> Agreement:
    """Share of agreeing trainer pairs per item, averaged over items (no chance correction).

    Same inputs as :func:`fleiss_kappa`. Easy to explain to trainers, but
    inflated when one label dominates; report it next to a kappa or alpha.
    """
    counts, m = _category_counts(table, items, labels, trainers)
    p_unit = (_sum_squares(counts) - m) / (m * (m - 1.0))

    def stat(w: FloatArray) -> float:
        total = w.sum()  # no item judged twice: agreement is undefined, not an error
        return float(np.dot(w, p_unit) / total) if total > 0 else float("nan")

    return _with_bootstrap(stat, m.size, n_boot, confidence, random_state)


def cohen_kappa(rater_a: Any, rater_b: Any, *, weights: str | None = None, n_boot: int = 0,
                confidence: float = 0.95, random_state: Any = None) -> Agreement:
    """Cohen's kappa between two trainers who labelled the same items.

    Cohen, J. (1960). A coefficient of agreement for nominal scales.
    *Educational and Psychological Measurement* 20, 37-46; weighted version:
    Cohen, J. (1968), *Psychological Bulletin* 70, 213-220.

    ``rater_a[i]`` and ``rater_b[i]`` are the two labels of item i; pairs with a
    missing (None/NaN) label are dropped. ``weights``: None (nominal),
    "linear" or "quadratic" (disagreement weighted by distance between the
    sorted category codes, for ordinal scales).
    """
    a, b = as_1d(rater_a, "rater_a"), as_1d(rater_b, "rater_b")
    check_same_length(rater_a=a, rater_b=b)
    keep = ~(_missing(a) | _missing(b))
    a, b = a[keep], b[keep]
    n = a.size
    if n == 0:
        return Agreement(float("nan"))
    _, codes = factorize(_concat(a, b))
    ca, cb = codes[:n], codes[n:]
    k = int(codes.max()) + 1
    idx = np.arange(k)
    dist = np.abs(idx[:, None] - idx[None, :]).astype(np.float64)
    if weights is None:
        w_mat = (dist > 0).astype(np.float64)
    elif weights == "linear":
        w_mat = dist
    elif weights == "quadratic":
        w_mat = dist**2
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    cell = ca * k + cb

    def stat(w: FloatArray) -> float:
        conf = np.bincount(cell, weights=w, minlength=k * k).reshape(k, k)
        total = conf.sum()
        expected = np.outer(conf.sum(axis=1), conf.sum(axis=0)) / total
        d_e = float((w_mat * expected).sum())
        return float(1.0 - (w_mat * conf).sum() / d_e) if d_e > 0 else float("nan")

    return _with_bootstrap(stat, n, n_boot, confidence, random_state)
