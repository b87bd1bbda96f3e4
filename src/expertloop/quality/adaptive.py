"""Adaptive overlap and cost-aware routing: when to ask for one more judgment, and from whom.

Expert judgments are expensive, so a programme should buy a second (third, ...)
judgment for an item only while it can still change the answer, and buy it from
the cheapest source that changes it enough. This module holds the decision maths
(pure numpy, no I/O); the aggregators in this package (e.g. :class:`DawidSkene`)
supply the inputs: per-item posteriors and per-trainer confusion matrices.

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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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

_LOG_FLOOR = 1e-12  # confusion entries below this are treated as this (finite logs)
_GAIN_EPS = 1e-12  # gains smaller than this are numerical noise


# -- confidence and the stopping rule -------------------------------------------


def item_confidence(probas) -> np.ndarray:
    """Max posterior per item: P(the arg-max label is correct) under the model.

    ``probas`` is ``(n_items, K)`` (or a single ``(K,)`` posterior, giving a
    0-d array).
    """
    p = np.asarray(probas, dtype=np.float64)
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise ValueError(f"probas must be (n_items, K) or (K,) with K >= 1, got shape {p.shape}")
    return p.max(axis=-1)


def _check_rule(min_judgments, max_judgments, target_confidence):
    if int(min_judgments) < 0:
        raise ValueError(f"min_judgments must be >= 0, got {min_judgments}")
    if max_judgments is not None and int(max_judgments) < int(min_judgments):
        raise ValueError(
            f"max_judgments ({max_judgments}) must be >= min_judgments ({min_judgments})"
        )
    if not 0.0 < float(target_confidence) <= 1.0:
        raise ValueError(f"target_confidence must be in (0, 1], got {target_confidence}")


def needs_more(
    probas, n_judgments, min_judgments=1, max_judgments=5, target_confidence=0.95
) -> np.ndarray:
    """Boolean mask: items that should get another (regular) judgment.

    An item needs more when it has fewer than ``min_judgments`` judgments, or
    when its confidence is below ``target_confidence`` and it has fewer than
    ``max_judgments`` (``None``: no cap). Items whose confidence is at or above
    the target after ``min_judgments`` are done; items still below it at
    ``max_judgments`` are done too, or escalated (:func:`escalate`).
    """
    _check_rule(min_judgments, max_judgments, target_confidence)
    conf = item_confidence(probas)
    n = np.asarray(n_judgments)
    if n.shape != conf.shape:
        raise ValueError(f"n_judgments has shape {n.shape}, expected {conf.shape}")
    below_cap = True if max_judgments is None else n < int(max_judgments)
    return (n < int(min_judgments)) | ((conf < float(target_confidence)) & below_cap)


def escalate(probas, n_judgments, max_judgments=5, target_confidence=0.95) -> np.ndarray:
    """Boolean mask: items still below ``target_confidence`` after ``max_judgments``.

    These are the items regular trainers could not settle; the rule is to send
    them to the senior (more accurate, more expensive) tier rather than either
    accepting a doubtful label or paying for ever more regular judgments.
    """
    _check_rule(0, max_judgments, target_confidence)
    conf = item_confidence(probas)
    n = np.asarray(n_judgments)
    if n.shape != conf.shape:
        raise ValueError(f"n_judgments has shape {n.shape}, expected {conf.shape}")
    return (n >= int(max_judgments)) & (conf < float(target_confidence))


def in_doubt_order(probas, n_judgments=None, mask=None) -> np.ndarray:
    """Indices of items in serving order: lowest confidence first.

    Ties are broken by fewer judgments first (when ``n_judgments`` is given),
    then by index. ``mask`` (boolean, optional) restricts the result to the
    items where it is true, e.g. ``needs_more(...)``.
    """
    conf = np.atleast_1d(item_confidence(probas))
    keys = [conf]
    if n_judgments is not None:
        n = np.asarray(n_judgments)
        if n.shape != conf.shape:
            raise ValueError(f"n_judgments has shape {n.shape}, expected {conf.shape}")
        keys.insert(0, n)  # np.lexsort: last key is the primary one
    order = np.lexsort(keys)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != conf.shape:
            raise ValueError(f"mask has shape {mask.shape}, expected {conf.shape}")
        order = order[mask[order]]
    return order


# -- posteriors -------------------------------------------------------------------


def _check_confusions(confusions, name="trainer_confusions") -> np.ndarray:
    c = np.asarray(confusions, dtype=np.float64)
    if c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] < 1:
        raise ValueError(f"{name} must end with a square (K, K) matrix, got shape {c.shape}")
    if (c < 0).any() or not np.allclose(c.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError(f"{name}: rows must be probabilities summing to 1")
    return c


def _log_prior(prior, k: int) -> np.ndarray:
    if prior is None:
        return np.full(k, -math.log(k))
    p = np.asarray(prior, dtype=np.float64)
    if p.shape != (k,) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"prior must be {k} non-negative numbers, got {prior!r}")
    with np.errstate(divide="ignore"):
        return np.log(p / p.sum())


def _normalise_log(logp: np.ndarray) -> np.ndarray:
    logp = logp - logp.max(axis=-1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=-1, keepdims=True)


def posterior_for_item(labels, trainer_confusions, prior=None) -> np.ndarray:
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


def posteriors(items, labels, trainers, confusions, prior=None, n_items=None) -> np.ndarray:
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


def align_confusions(trainers, trainer_ids, confusions, default=None) -> np.ndarray:
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
    confusions, n_judgments, class_prior=None, strength=20.0, pool=None, groups=None
) -> np.ndarray:
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
    return (m[:, :, None] * c + s * pool) / (m + s)[:, :, None]


# -- value of one more judgment ---------------------------------------------------


@lru_cache(maxsize=64)
def _outcomes(n_labels: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """All count vectors of ``n_labels`` judgments over ``k`` classes + log multinomial coefs."""
    counts = []

    def rec(prefix, left, slots):
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


def _outcome_likelihoods(confusion: np.ndarray, n_labels: int) -> np.ndarray:
    """``L[k, o]`` = P(outcome o of ``n_labels`` judgments | true k), outcome = counts."""
    k = confusion.shape[0]
    if n_labels == 1:
        return confusion
    counts, log_coef = _outcomes(n_labels, k)
    log_c = np.log(np.maximum(confusion, _LOG_FLOOR))  # (K, K)
    return np.exp(log_c @ counts.T.astype(np.float64) + log_coef)  # (K, n_outcomes)


def expected_accuracy_gain(posterior, confusion, n_labels=1) -> np.ndarray:
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
    return np.where(gain < _GAIN_EPS, 0.0, gain)


# -- tiers and cost-aware routing -------------------------------------------------


def one_coin_confusion(accuracy: float, n_classes: int) -> np.ndarray:
    """``K x K`` confusion with ``accuracy`` on the diagonal, errors spread evenly."""
    a = float(accuracy)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    k = int(n_classes)
    if k < 2:
        raise ValueError("n_classes must be >= 2")
    c = np.full((k, k), (1.0 - a) / (k - 1))
    np.fill_diagonal(c, a)
    return c


@dataclass(frozen=True, eq=False)
class Tier:
    """A pool of interchangeable trainers: a price per judgment and a quality.

    Give either ``confusion`` (``K x K``, ``C[true, observed]``; e.g. the
    judgment-weighted mean of the tier's trainers' Dawid-Skene confusions) or
    ``accuracy`` (errors then spread evenly over the other classes).
    ``cost`` is in any currency unit, per judgment (e.g. hourly rate x minutes
    per judgment / 60).
    """

    name: str
    cost: float
    accuracy: float | None = None
    confusion: np.ndarray | None = None

    def __post_init__(self):
        if not float(self.cost) > 0:
            raise ValueError(f"tier {self.name!r}: cost must be > 0, got {self.cost}")
        if (self.accuracy is None) == (self.confusion is None):
            raise ValueError(f"tier {self.name!r}: give exactly one of accuracy or confusion")
        if self.confusion is not None:
            c = _check_confusions(self.confusion, "confusion")
            if c.ndim != 2:
                raise ValueError(f"tier {self.name!r}: confusion must be (K, K)")
            object.__setattr__(self, "confusion", c)

    def confusion_matrix(self, n_classes: int) -> np.ndarray:
        """The tier's ``K x K`` confusion matrix for ``n_classes`` classes."""
        if self.confusion is not None:
            if self.confusion.shape[0] != n_classes:
                raise ValueError(
                    f"tier {self.name!r} has a {self.confusion.shape[0]}-class confusion, "
                    f"item has {n_classes} classes"
                )
            return self.confusion
        return one_coin_confusion(self.accuracy, n_classes)


def _gain_rates(probas: np.ndarray, tiers: Sequence[Tier], lookahead: int) -> np.ndarray:
    """(n_items, n_tiers) best expected accuracy gain per unit cost over 1..lookahead judgments."""
    k = probas.shape[-1]
    rates = np.zeros((probas.shape[0], len(tiers)))
    for t, tier in enumerate(tiers):
        conf = tier.confusion_matrix(k)
        for n in range(1, lookahead + 1):
            rate = expected_accuracy_gain(probas, conf, n) / (n * float(tier.cost))
            np.maximum(rates[:, t], rate, out=rates[:, t])
    return rates


def choose_tiers(
    probas, tiers: Sequence[Tier], min_gain_per_dollar=0.0, lookahead=2
) -> np.ndarray:
    """Vectorised :func:`choose_tier`: tier index per item, ``-1`` for none."""
    p = np.asarray(probas, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probas must be (n_items, K), got shape {p.shape}")
    if not tiers:
        raise ValueError("no tiers given")
    lookahead = int(lookahead)
    if lookahead < 1:
        raise ValueError(f"lookahead must be >= 1, got {lookahead}")
    rates = _gain_rates(p, tiers, lookahead)
    # ties (equal gain per dollar, up to rounding) go to the cheaper tier, then
    # to the earlier one: the first tier in cost order that reaches the best rate
    by_cost = sorted(range(len(tiers)), key=lambda t: (float(tiers[t].cost), t))
    best_rate = rates.max(axis=1)
    reaches = rates[:, by_cost] >= best_rate[:, None] * (1 - 1e-9)
    best = np.asarray(by_cost)[np.argmax(reaches, axis=1)]
    return np.where(best_rate > float(min_gain_per_dollar), best, -1)


def choose_tier(
    posterior, tiers: Sequence[Tier], min_gain_per_dollar=0.0, lookahead=2
) -> Tier | None:
    """The tier to buy the next judgment from, or ``None`` if none is worth it.

    Each tier is scored by its expected accuracy gain per unit cost,
    ``max over n = 1..lookahead of expected_accuracy_gain(posterior, C_tier, n) / (n * cost)``
    (the look-ahead catches tiers whose single judgment cannot flip the label
    but whose next few can). The best-scoring tier is returned; equal scores
    go to the cheaper tier.

    ``None`` is returned when the best score is not above
    ``min_gain_per_dollar``: no purchase is worth its price. A natural value is
    ``1 / V`` where ``V`` is what a correct label on this item is worth to the
    programme (in the same currency as ``cost``): buying a judgment that raises
    P(correct) by ``g`` at price ``c`` pays off when ``g * V > c``. With the
    default ``0.0``, ``None`` means that no tier can change the answer within
    ``lookahead`` judgments (e.g. the item is already certain).
    """
    p = np.asarray(posterior, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"posterior must be (K,), got shape {p.shape}")
    idx = int(choose_tiers(p[None, :], tiers, min_gain_per_dollar, lookahead)[0])
    return None if idx < 0 else tiers[idx]


# -- the per-submission decision ---------------------------------------------------


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
        min_judgments=1,
        max_judgments=5,
        target_confidence=0.95,
        escalate=True,
        max_senior_judgments=2,
        tiers=None,
        min_gain_per_dollar=0.0,
        lookahead=2,
    ):
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

    def decide_posterior(self, posterior, n_regular, n_senior=0) -> str:
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

    def decide(self, labels, trainer_confusions, prior=None, n_senior=0) -> str:
        """Decision for one item after a submission.

        ``labels``: class codes of all its judgments so far;
        ``trainer_confusions``: ``(len(labels), K, K)`` confusion of each
        judgment's trainer (:func:`align_confusions`); ``prior``: class prior;
        ``n_senior``: how many of the judgments came from the senior tier.
        """
        post = posterior_for_item(labels, trainer_confusions, prior)
        n = int(np.asarray(labels).size)
        return self.decide_posterior(post, n - int(n_senior), int(n_senior))

    def decide_many(self, probas, n_regular, n_senior=None) -> np.ndarray:
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

    def route(self, posterior):
        """Cost-aware choice of the tier for the next judgment (:func:`choose_tier`).

        Returns ``None`` when the item is at target confidence, or when no
        tier's expected gain per unit cost exceeds ``min_gain_per_dollar``.
        """
        if self.tiers is None:
            raise ValueError("AdaptiveOverlap.route needs tiers")
        if float(item_confidence(posterior)) >= self.target_confidence:
            return None
        return choose_tier(posterior, self.tiers, self.min_gain_per_dollar, self.lookahead)
