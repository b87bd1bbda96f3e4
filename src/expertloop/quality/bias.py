"""Per-trainer and per-group bias diagnostics.

Each function takes long-format arrays (one row per judgment) and returns a
small dataclass of arrays aligned with ``trainer_ids`` (or ``groups``). They
flag; they do not judge: a low p-value says a pattern is unlikely to be chance,
not that the trainer is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ._validation import FloatArray, as_1d, check_same_length
from .encode import _concat, factorize, lookup
from .intervals import wilson_interval
from .majority_vote import MajorityVote

__all__ = [
    "GroupAgreement",
    "GroupDisagreement",
    "LabelSkew",
    "LengthBias",
    "Leniency",
    "PositionBias",
    "SpeedFlags",
    "StraightLining",
    "group_agreement",
    "group_disagreement",
    "label_skew",
    "length_bias",
    "leniency",
    "position_bias",
    "speed_flags",
    "straight_lining",
]


def _binom_p(k: Any, n: Any, p: Any) -> FloatArray:
    """Exact two-sided binomial test p-values, element-wise (NaN where n == 0)."""
    k, n = np.asarray(k), np.asarray(n)
    p = np.broadcast_to(np.asarray(p, dtype=np.float64), k.shape)
    return np.array([stats.binomtest(round(ki), int(ni), float(pi)).pvalue if ni > 0 else np.nan
                     for ki, ni, pi in zip(k, n, p, strict=False)], dtype=np.float64)


@dataclass(frozen=True)
class PositionBias:
    trainer_ids: np.ndarray
    n: np.ndarray
    share_first: np.ndarray
    p_values: np.ndarray
    overall_share: float
    overall_p_value: float


def position_bias(trainers: Any, chose_first: Any) -> PositionBias:
    """How often each trainer picks the answer shown first in a pairwise task.

    With randomised presentation order an unbiased trainer picks the first
    answer half the time; the exact two-sided binomial test against 0.5 gives a
    p-value per trainer and overall. Drop tied judgments before calling.
    """
    trainers = as_1d(trainers, "trainers")
    first = np.asarray(chose_first, dtype=bool)
    check_same_length(trainers=trainers, chose_first=first)
    ids, codes = factorize(trainers)
    n = np.bincount(codes, minlength=ids.size)
    k = np.bincount(codes, weights=first, minlength=ids.size)
    total = int(first.size)
    return PositionBias(ids, n, k / n, _binom_p(k, n, 0.5), float(first.mean()) if total else np.nan,
                        float(stats.binomtest(int(first.sum()), total, 0.5).pvalue) if total else np.nan)


@dataclass(frozen=True)
class LengthBias:
    trainer_ids: np.ndarray
    n: np.ndarray
    share_longer: np.ndarray
    consensus_share: np.ndarray
    excess: np.ndarray
    p_values: np.ndarray
    overall_share: float
    overall_consensus_share: float


def length_bias(items: Any, trainers: Any, chose_longer: Any) -> LengthBias:
    """How often a trainer prefers the longer answer, against the consensus on the same items.

    ``chose_longer[j]`` is True when judgment j picked the longer of the two
    answers (drop equal-length pairs first). The consensus for an item is the
    majority of its judgments (ties count half). ``consensus_share`` is the
    share of the trainer's items where consensus preferred the longer answer,
    so ``excess`` isolates the trainer's own pull towards length from the
    items simply having better long answers; ``p_values`` are exact binomial
    tests of the trainer's count against ``consensus_share``.
    """
    items, trainers = as_1d(items, "items"), as_1d(trainers, "trainers")
    longer = np.asarray(chose_longer, dtype=bool)
    check_same_length(items=items, trainers=trainers, chose_longer=longer)
    _, item_codes = factorize(items)
    ids, codes = factorize(trainers)
    item_share = np.bincount(item_codes, weights=longer) / np.bincount(item_codes)
    consensus = np.where(item_share > 0.5, 1.0, np.where(item_share < 0.5, 0.0, 0.5))
    n = np.bincount(codes, minlength=ids.size)
    k = np.bincount(codes, weights=longer, minlength=ids.size)
    expected = np.bincount(codes, weights=consensus[item_codes], minlength=ids.size) / n
    p = np.clip(expected, 1e-9, 1 - 1e-9)
    return LengthBias(ids, n, k / n, expected, k / n - expected, _binom_p(k, n, p),
                      float(longer.mean()), float(consensus.mean()))


@dataclass(frozen=True)
class Leniency:
    trainer_ids: np.ndarray
    n: np.ndarray
    offsets: np.ndarray
    t_stats: np.ndarray
    p_values: np.ndarray


def leniency(items: Any, trainers: Any, scores: Any) -> Leniency:
    """Mean offset of each trainer's scores from the other trainers' mean on the same items.

    Positive = lenient, negative = severe. The consensus excludes the trainer's
    own score (leave-one-out), so a trainer cannot pull it towards themselves;
    items scored by one trainer only are skipped. ``t_stats``/``p_values``: a
    one-sample t-test of the offsets against 0 (NaN with fewer than 2 offsets).
    """
    items, trainers = as_1d(items, "items"), as_1d(trainers, "trainers")
    scores = np.asarray(scores, dtype=np.float64)
    check_same_length(items=items, trainers=trainers, scores=scores)
    ok = ~np.isnan(scores)
    items, trainers, scores = items[ok], trainers[ok], scores[ok]
    _, item_codes = factorize(items)
    ids, codes = factorize(trainers)
    cnt = np.bincount(item_codes)[item_codes]
    tot = np.bincount(item_codes, weights=scores)[item_codes]
    has_others = cnt > 1
    diff = scores[has_others] - (tot - scores)[has_others] / (cnt[has_others] - 1)
    c = codes[has_others]
    n = np.bincount(c, minlength=ids.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(c, weights=diff, minlength=ids.size) / n
        ss = np.bincount(c, weights=diff * diff, minlength=ids.size) - n * mean * mean
        sd = np.sqrt(np.maximum(ss, 0.0) / (n - 1))
        t = np.where(n > 1, mean / (sd / np.sqrt(n)), np.nan)
        t = np.where((n > 1) & (sd == 0) & (mean == 0), 0.0, t)
        p = np.where(n > 1, 2.0 * stats.t.sf(np.abs(t), np.maximum(n - 1, 1)), np.nan)
    return Leniency(ids, n, mean, t, p)


@dataclass(frozen=True)
class LabelSkew:
    trainer_ids: np.ndarray
    classes: np.ndarray
    distributions: np.ndarray
    consensus_distributions: np.ndarray
    tvd: np.ndarray
    chi2: np.ndarray
    p_values: np.ndarray


def label_skew(items: Any, trainers: Any, labels: Any, consensus: Any = None) -> LabelSkew:
    """Each trainer's label distribution against the consensus labels of the same items.

    ``consensus``: mapping item -> label; defaults to majority vote. Reports the
    total variation distance (0 = same distribution, 1 = disjoint) and a
    chi-square test of homogeneity on the 2 x K table (trainer vs consensus
    counts; classes absent from both are dropped).
    """
    items, trainers, labels = as_1d(items), as_1d(trainers), as_1d(labels)
    check_same_length(items=items, trainers=trainers, labels=labels)
    if consensus is None:
        mv = MajorityVote().fit(items, trainers, labels)
        consensus = dict(zip(mv.item_ids_.tolist(), mv.labels_.tolist(), strict=False))
    if not isinstance(consensus, Mapping):
        raise TypeError("consensus must be a mapping item -> label")
    per_item = [consensus.get(i) for i in items.tolist()]
    has = np.array([c is not None for c in per_item], dtype=bool)
    cons = as_1d([c for c in per_item if c is not None])
    classes, _ = factorize(_concat(labels, cons))
    lab_codes, cons_codes = lookup(classes, labels), lookup(classes, cons)
    ids, codes = factorize(trainers)
    k, t = classes.size, ids.size
    own = np.bincount(codes[has] * k + lab_codes[has], minlength=t * k).reshape(t, k).astype(float)
    ref = np.bincount(codes[has] * k + cons_codes, minlength=t * k).reshape(t, k).astype(float)
    n = own.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist, cdist = own / n, ref / n
    tvd = 0.5 * np.abs(dist - cdist).sum(axis=1)
    chi2 = np.full(t, np.nan)
    pv = np.full(t, np.nan)
    for j in range(t):
        table = np.vstack([own[j], ref[j]])
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] >= 2 and n[j, 0] > 0:
            res = stats.chi2_contingency(table, correction=False)
            chi2[j], pv[j] = res.statistic, res.pvalue
        elif n[j, 0] > 0:
            chi2[j], pv[j] = 0.0, 1.0
    return LabelSkew(ids, classes, dist, cdist, tvd, chi2, pv)


@dataclass(frozen=True)
class SpeedFlags:
    trainer_ids: np.ndarray
    n: np.ndarray
    fast_share: np.ndarray
    median_duration: np.ndarray
    threshold: np.ndarray


def speed_flags(trainers: Any, durations: Any, items: Any = None, fraction: float = 0.25) -> SpeedFlags:
    """Share of each trainer's submissions faster than ``fraction`` x the typical time.

    The typical time is the median duration of the same item when ``items`` is
    given (fairer for tasks of mixed length), else the global median. A trainer
    with a high ``fast_share`` is likely not reading the task.
    """
    trainers = as_1d(trainers, "trainers")
    durations = np.asarray(durations, dtype=np.float64)
    check_same_length(trainers=trainers, durations=durations,
                      items=None if items is None else as_1d(items))
    if items is None:
        threshold = np.full(durations.size, fraction * np.nanmedian(durations))
    else:
        _, ic = factorize(as_1d(items))
        order = np.lexsort((durations, ic))
        cnt = np.bincount(ic)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        s = durations[order]
        med = 0.5 * (s[start + (cnt - 1) // 2] + s[start + cnt // 2])
        threshold = fraction * med[ic]
    ids, codes = factorize(trainers)
    n = np.bincount(codes, minlength=ids.size)
    fast = np.bincount(codes, weights=durations < threshold, minlength=ids.size)
    order = np.lexsort((durations, codes))
    start = np.concatenate([[0], np.cumsum(n)[:-1]])
    sd = durations[order]
    med_t = 0.5 * (sd[start + (n - 1) // 2] + sd[start + n // 2])
    thr_t = np.bincount(codes, weights=threshold, minlength=ids.size) / n
    return SpeedFlags(ids, n, fast / n, med_t, thr_t)


@dataclass(frozen=True)
class StraightLining:
    trainer_ids: np.ndarray
    n: np.ndarray
    longest_run: np.ndarray
    modal_share: np.ndarray
    entropy: np.ndarray
    flagged: np.ndarray


def straight_lining(
    trainers: Any, labels: Any, order: Any = None, min_run: int = 10, max_entropy: float = 0.2
) -> StraightLining:
    """Runs of the same answer and low answer diversity per trainer.

    ``order`` (e.g. submission timestamps) sets the sequence within each
    trainer; by default the input order. ``entropy`` is the Shannon entropy of
    the trainer's label distribution divided by log(number of classes in the
    data) (0 = always the same label, 1 = uniform). ``flagged`` = longest run
    >= ``min_run`` or normalised entropy <= ``max_entropy`` (with at least
    ``min_run`` judgments).
    """
    trainers, labels = as_1d(trainers, "trainers"), as_1d(labels, "labels")
    check_same_length(trainers=trainers, labels=labels)
    ids, codes = factorize(trainers)
    classes, lab = factorize(labels)
    key = np.arange(codes.size) if order is None else np.asarray(order)
    idx = np.lexsort((np.arange(codes.size), key, codes))
    c, lv = codes[idx], lab[idx]
    new_run = np.ones(c.size, dtype=bool)
    new_run[1:] = (c[1:] != c[:-1]) | (lv[1:] != lv[:-1])
    run_id = np.cumsum(new_run) - 1
    run_len = np.bincount(run_id)
    run_owner = c[new_run]
    longest = np.zeros(ids.size, dtype=np.int64)
    np.maximum.at(longest, run_owner, run_len)
    k = classes.size
    n = np.bincount(codes, minlength=ids.size)
    dist = np.bincount(codes * k + lab, minlength=ids.size * k).reshape(ids.size, k) / n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(dist > 0, dist * np.log(dist), 0.0).sum(axis=1)
    ent = h / np.log(k) if k > 1 else np.zeros(ids.size)
    flagged = (longest >= min_run) | ((ent <= max_entropy) & (n >= min_run))
    return StraightLining(ids, n, longest, dist.max(axis=1), ent, flagged)


@dataclass(frozen=True)
class GroupDisagreement:
    groups: np.ndarray
    classes: np.ndarray
    n: np.ndarray
    distributions: np.ndarray
    agreement_with_consensus: np.ndarray
    pairwise_agreement: np.ndarray
    chi2: float
    p_value: float
    dof: int


def _grouped_judgments(items: Any, trainers: Any, labels: Any,
                       groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Aligned 1-d arrays of judgments and each judgment's group; ``groups`` may map trainers
    to groups or give one group per judgment."""
    items, trainers, labels = as_1d(items), as_1d(trainers), as_1d(labels)
    check_same_length(items=items, trainers=trainers, labels=labels)
    if isinstance(groups, Mapping):
        groups = as_1d([groups[t] for t in trainers.tolist()])
    groups = as_1d(groups)
    check_same_length(items=items, groups=groups)
    return items, trainers, labels, groups


def group_disagreement(items: Any, trainers: Any, labels: Any, groups: Any) -> GroupDisagreement:
    """Do groups of trainers (degree, domain level, country, ...) label differently?

    ``groups``: the group of each judgment's trainer, either aligned with the
    rows or a mapping trainer -> group. For every group: its label
    distribution; how often its own per-item majority matches the overall
    majority (over items the group labelled); and, for every pair of groups,
    how often their majorities match on items both labelled
    (``pairwise_agreement``, NaN without shared items). A chi-square test of
    independence of label and group on the groups x classes table tests
    whether the label mix differs by group.
    """
    items, trainers, labels, groups = _grouped_judgments(items, trainers, labels, groups)
    item_ids, ic = factorize(items)
    classes, lc = factorize(labels)
    gids, gc = factorize(groups)
    n_i, k, n_g = item_ids.size, classes.size, gids.size
    overall = np.argmax(np.bincount(ic * k + lc, minlength=n_i * k).reshape(n_i, k), axis=1)
    votes = np.bincount((gc * n_i + ic) * k + lc, minlength=n_g * n_i * k).reshape(n_g, n_i, k)
    present = votes.sum(axis=2) > 0
    majority = np.argmax(votes, axis=2)
    agree = np.array([(majority[g][present[g]] == overall[present[g]]).mean()
                      if present[g].any() else np.nan for g in range(n_g)])
    pair = np.full((n_g, n_g), np.nan)
    for a in range(n_g):
        for b in range(n_g):
            both = present[a] & present[b]
            if both.any():
                pair[a, b] = (majority[a][both] == majority[b][both]).mean()
    table = np.bincount(gc * k + lc, minlength=n_g * k).reshape(n_g, k).astype(float)
    n = table.sum(axis=1)
    t2 = table[:, table.sum(axis=0) > 0]
    if t2.shape[0] >= 2 and t2.shape[1] >= 2:
        res = stats.chi2_contingency(t2, correction=False)
        chi2, p, dof = float(res.statistic), float(res.pvalue), int(res.dof)
    else:
        chi2, p, dof = 0.0, 1.0, 0
    return GroupDisagreement(gids, classes, n.astype(int), table / n[:, None], agree, pair, chi2, p, dof)


@dataclass(frozen=True)
class GroupAgreement:
    groups: np.ndarray
    trainers: np.ndarray       # distinct trainers in each group
    n: np.ndarray              # the group's judgments on items that have a consensus answer
    agree: np.ndarray          # how many of them give that answer
    share: np.ndarray          # agree / n (NaN when n == 0)
    low: np.ndarray            # Wilson interval of the share
    high: np.ndarray
    too_small: np.ndarray      # fewer than ``min_trainers`` trainers: read as anecdote


def group_agreement(items: Any, trainers: Any, labels: Any, groups: Any, consensus: Mapping[Any, Any], *,
                    min_trainers: int = 3, confidence: float = 0.95) -> GroupAgreement:
    """Per group of trainers (degree, country, domain level, ...): the share of the group's
    judgments that give the consensus answer of their item, with a Wilson interval.

    ``consensus`` maps an item to its consensus answer (from whatever aggregator the caller
    trusts); judgments on items missing from it are not compared. ``groups`` is the group of
    each judgment's trainer, aligned with the rows or a mapping trainer -> group. A group of
    one trainer therefore shows exactly that trainer's agreement with the consensus.

    The interval (Wilson, 1927; see :func:`~expertloop.quality.intervals.wilson_interval`)
    treats the group's judgments as independent; judgments of one trainer are not, so with
    few trainers it is too narrow. Groups with fewer than ``min_trainers`` trainers are
    marked ``too_small``.
    """
    items, trainers, labels, groups = _grouped_judgments(items, trainers, labels, groups)
    if not isinstance(min_trainers, (int, np.integer)) or isinstance(min_trainers, bool) or min_trainers < 1:
        raise ValueError("min_trainers must be a positive integer")
    gids, gc = factorize(groups)
    n_g = gids.size
    answer = [consensus.get(i) for i in items.tolist()]
    known = np.array([a is not None for a in answer], dtype=bool)
    hit = np.array([a is not None and a == lab for a, lab in zip(answer, labels.tolist(), strict=True)],
                   dtype=bool)
    n = np.bincount(gc[known], minlength=n_g)
    agree = np.bincount(gc[hit], minlength=n_g)
    members = np.array([np.unique(trainers[gc == g]).size for g in range(n_g)], dtype=int)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, agree / np.maximum(n, 1), np.nan)
    low, high = wilson_interval(agree, n, confidence=confidence)
    low = np.where(n > 0, low, np.nan)
    high = np.where(n > 0, high, np.nan)
    return GroupAgreement(gids, members, n, agree, share, low, high, members < min_trainers)
