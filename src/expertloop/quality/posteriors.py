"""Dawid-Skene posteriors of items from trainers' confusion matrices, and shrinking those matrices.

A confusion matrix ``C`` is ``K x K`` with ``C[true, observed] = P(trainer
answers observed | true class)``; given the true class, judgments are
independent (Dawid & Skene 1979), so ``P(true = k | labels) ∝ prior[k] *
prod_j C_{t_j}[k, label_j]``, computed here in log space.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validation import FloatArray

__all__ = ["align_confusions", "posterior_for_item", "posteriors", "shrink_confusions"]

_LOG_FLOOR = 1e-12  # confusion entries below this are treated as this (finite logs)


def _check_confusions(confusions: Any, name: str = "trainer_confusions") -> FloatArray:
    c = np.asarray(confusions, dtype=np.float64)
    if c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] < 1:
        raise ValueError(f"{name} must end with a square (K, K) matrix, got shape {c.shape}")
    if (c < 0).any() or not np.allclose(c.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError(f"{name}: rows must be probabilities summing to 1")
    return c


def _log_prior(prior: Any, k: int) -> FloatArray:
    if prior is None:
        return np.full(k, -math.log(k))
    p = np.asarray(prior, dtype=np.float64)
    if p.shape != (k,) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"prior must be {k} non-negative numbers, got {prior!r}")
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(p / p.sum()), dtype=np.float64)


def _normalise_log(logp: FloatArray) -> FloatArray:
    logp = logp - logp.max(axis=-1, keepdims=True)
    p = np.exp(logp)
    out: FloatArray = p / p.sum(axis=-1, keepdims=True)
    return out


def posterior_for_item(labels: Any, trainer_confusions: Any, prior: Any = None) -> FloatArray:
    """Dawid-Skene posterior ``(K,)`` of one item from its judgments.

    Parameters
    ----------
    labels : sequence of int
        Class codes (``0..K-1``) of the item's judgments.
    trainer_confusions : ``(n_labels, K, K)`` or ``(K, K)``
        Confusion matrix of the trainer behind each judgment (aligned with
        ``labels``), e.g. rows of an aggregator's ``confusions_`` picked with
        :func:`align_confusions`; a single ``(K, K)`` is used for all of them.
    prior : ``(K,)``, optional
        Class prior (e.g. ``DawidSkene.class_prior_``); uniform if omitted.

    With no labels the posterior is the prior. Computed in log space, so long
    runs of judgments do not underflow; zero confusion entries are floored at
    1e-12.
    """
    lab = np.asarray(labels, dtype=np.intp).reshape(-1)
    c = _check_confusions(trainer_confusions)
    k = c.shape[-1]
    if c.ndim == 2:
        c = np.broadcast_to(c, (lab.size, k, k))
    if c.ndim != 3 or c.shape[0] != lab.size:
        raise ValueError(
            f"trainer_confusions must be (K, K) or ({lab.size}, K, K), got shape {c.shape}"
        )
    if lab.size and (lab.min() < 0 or lab.max() >= k):
        raise ValueError(f"labels must be class codes in 0..{k - 1}")
    log_c = np.log(np.maximum(c[np.arange(lab.size), :, lab], _LOG_FLOOR))  # (n, K)
    return _normalise_log(_log_prior(prior, k) + log_c.sum(axis=0))


def posteriors(
    items: Any, labels: Any, trainers: Any, confusions: Any, prior: Any = None, n_items: int | None = None
) -> FloatArray:
    """Vectorised :func:`posterior_for_item` for many items: ``(n_items, K)``.

    Parameters
    ----------
    items, labels, trainers : aligned int arrays, one entry per judgment
        Item codes (``0..n_items-1``), class codes and trainer codes (rows of
        ``confusions``).
    confusions : ``(n_trainers, K, K)``
        Per-trainer confusion matrices (e.g. ``DawidSkene.confusions_``).
    prior : ``(K,)``, optional; uniform if omitted.
    n_items : int, optional; default ``items.max() + 1``. Items without
        judgments get the prior.
    """
    c = _check_confusions(confusions, "confusions")
    if c.ndim != 3:
        raise ValueError(f"confusions must be (n_trainers, K, K), got shape {c.shape}")
    k = c.shape[-1]
    it = np.asarray(items, dtype=np.intp).reshape(-1)
    lab = np.asarray(labels, dtype=np.intp).reshape(-1)
    tr = np.asarray(trainers, dtype=np.intp).reshape(-1)
    if not it.size == lab.size == tr.size:
        raise ValueError("items, labels and trainers must have equal lengths")
    n = int(n_items) if n_items is not None else (int(it.max()) + 1 if it.size else 0)
    if it.size and (it.min() < 0 or it.max() >= n):
        raise ValueError(f"item codes must be in 0..{n - 1}")
    if lab.size and (lab.min() < 0 or lab.max() >= k):
        raise ValueError(f"labels must be class codes in 0..{k - 1}")
    log_c = np.log(np.maximum(c, _LOG_FLOOR))  # (T, K, K)
    contrib = log_c[tr, :, lab]  # (n_labels, K): log P(label | true = k)
    logp = np.empty((n, k))
    for j in range(k):
        logp[:, j] = np.bincount(it, weights=contrib[:, j], minlength=n)
    logp += _log_prior(prior, k)
    return _normalise_log(logp)


def align_confusions(trainers: Any, trainer_ids: Any, confusions: Any, default: Any = None) -> FloatArray:
    """Confusion matrix of each trainer in ``trainers``: ``(len(trainers), K, K)``.

    ``trainer_ids``/``confusions`` are an aggregator's ``trainer_ids_`` and
    ``confusions_``. Trainers absent from ``trainer_ids`` (e.g. new since the
    last fit) get ``default``: a ``(K, K)`` matrix, or, if omitted, the mean of
    all fitted confusion matrices.
    """
    c = _check_confusions(confusions, "confusions")
    index = {t: i for i, t in enumerate(np.asarray(trainer_ids).tolist())}
    if default is None:
        default = c.mean(axis=0)
    default = _check_confusions(default, "default")
    rows = [index.get(t, -1) for t in np.asarray(trainers).reshape(-1).tolist()]
    out = np.empty((len(rows), *c.shape[1:]))
    for i, r in enumerate(rows):
        out[i] = c[r] if r >= 0 else default
    return out


def shrink_confusions(
    confusions: Any, n_judgments: Any, class_prior: Any = None, strength: float = 20.0, pool: Any = None,
    groups: Any = None,
) -> FloatArray:
    """Shrink per-trainer confusion matrices toward their pool's (empirical Bayes).

    A maximum-likelihood confusion matrix estimated from a handful of judgments
    is over-confident (a trainer seen agreeing 5 times out of 5 looks perfect),
    and so are the posteriors computed from it; stopping rules built on them
    stop too early. Each row is replaced by a weighted mean of the trainer's
    row and the pool's::

        C'_t[k] = (m_tk * C_t[k] + strength * P_t[k]) / (m_tk + strength)

    where ``m_tk`` is how many of trainer t's judgments fell on items of class
    k and ``P_t`` the pool matrix for t: a Dirichlet prior centred on the pool
    with ``strength`` pseudo-judgments per true class, the "community" prior of
    Venanzi, Guiver, Kazai, Kohli & Shokouhi (2014, "Community-based Bayesian
    aggregation models for crowdsourcing", WWW) in its simplest form.

    Parameters
    ----------
    confusions : ``(n_trainers, K, K)`` (e.g. ``DawidSkene.confusions_``)
    n_judgments : ``(n_trainers,)`` or ``(n_trainers, K)``
        Judgments behind each matrix. With one count per trainer, ``m_tk`` is
        taken as ``n_t * class_prior[k]``; pass ``(n_trainers, K)`` expected
        counts per true class (sum of the judged items' posteriors) when
        trainers see the classes in different proportions.
    class_prior : ``(K,)``, optional; uniform if omitted (used with 1-D counts)
    strength : float >= 0, default 20; 0 returns a copy of the input
    pool : ``(K, K)`` or ``(n_trainers, K, K)``, optional
        Prior mean(s). Default: the ``m``-weighted mean of the confusions,
        computed within each group of ``groups``.
    groups : ``(n_trainers,)``, optional
        Group of each trainer (e.g. its tier); default one group for all.
    """
    c = _check_confusions(confusions, "confusions")
    if c.ndim != 3:
        raise ValueError(f"confusions must be (n_trainers, K, K), got shape {c.shape}")
    t, k = c.shape[0], c.shape[-1]
    n = np.asarray(n_judgments, dtype=np.float64)
    if n.shape == (t,):
        m = n[:, None] * np.exp(_log_prior(class_prior, k))[None, :]
    elif n.shape == (t, k):
        m = n
    else:
        raise ValueError(f"n_judgments must have shape ({t},) or ({t}, {k}), got {n.shape}")
    if (m < 0).any():
        raise ValueError("n_judgments must be non-negative")
    if float(strength) < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    if float(strength) == 0:
        return c.copy()
    if pool is None:
        g = np.zeros(t, dtype=np.intp) if groups is None else np.unique(
            np.asarray(groups).reshape(-1), return_inverse=True)[1].reshape(-1)
        if g.shape != (t,):
            raise ValueError(f"groups must have {t} entries")
        pools = np.empty((g.max() + 1, k, k))
        for j in range(g.max() + 1):
            w = m[g == j]  # (t_j, K)
            tot = w.sum(axis=0)
            num = (w[:, :, None] * c[g == j]).sum(axis=0)
            safe = np.where(tot > 0, tot, 1.0)[:, None]
            pools[j] = np.where(tot[:, None] > 0, num / safe, 1.0 / k)
        pool = pools[g]
    else:
        pool = _check_confusions(pool, "pool")
        if pool.ndim == 2:
            pool = np.broadcast_to(pool, c.shape)
        if pool.shape != c.shape:
            raise ValueError(f"pool must be (K, K) or {c.shape}, got {pool.shape}")
    s = float(strength)
    shrunk: FloatArray = (m[:, :, None] * c + s * pool) / (m + s)[:, :, None]
    return shrunk
