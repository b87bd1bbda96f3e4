#!/usr/bin/env python
"""Routing benchmark: adaptive overlap and tier-aware routing against fixed overlap.

Replays real crowd label sets (every real judgment revealed in a random order,
one order per seed) and simulates a two-tier expert pool, then reports accuracy
against judgments (and dollars) per item for

* fixed overlap: the first ``k`` judgments of every item, for every ``k``;
* adaptive overlap: judgments revealed one at a time, in rounds, only for the
  items still in doubt, most in doubt first (``expertloop.quality.adaptive``);
* adaptive overlap with tiers (synthetic pool): each next judgment bought from
  the tier with the best expected accuracy gain per dollar, escalation to the
  specialists when the generalists cannot settle an item.

Truth inference is Dawid-Skene (``expertloop.quality.DawidSkene``) throughout.
Design and measured numbers: bench/README.md, section "Routing".

    python bench/routing.py                  # tables + bench/routing.png
    python bench/routing.py --json           # one JSON object per data set
    python bench/routing.py --data DIR       # any folder with answer.csv and truth.csv
    python bench/routing.py --seeds 5        # fewer random orders / pools (default 20)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from expertloop.quality import DawidSkene
from expertloop.quality.adaptive import (
    Tier,
    choose_tiers,
    escalate,
    in_doubt_order,
    item_confidence,
    needs_more,
    one_coin_confusion,
    posteriors,
    shrink_confusions,
)

CROWD = Path(__file__).resolve().parents[2] / "shared" / "data" / "crowd"
REAL_SETS = ("duck", "product", "dog")

# -- adaptive overlap, the same settings for every data set ----------------------
MIN_JUDGMENTS = 2  # with one judgment per item Dawid-Skene cannot rate the trainers
SHRINK = 20.0  # pseudo-judgments per class pulling each trainer's confusion to the pool's
ROUND_SIZE = 0.05  # each round serves at most this fraction of the items, most in doubt first
TARGET = 0.99999  # stop an item at this (shrunk) posterior ...
BUDGET = 0.65  # ... or when the programme has spent this fraction of full overlap
THRESHOLD_SWEEP = (0.99, 0.999, 0.9999)  # target only, no budget: the trade-off curve
BUDGET_SWEEP = (0.75, 0.85, 0.95)  # no target, the whole budget spent most-in-doubt first: where
# does adaptive overlap meet every judgment?

# -- synthetic two-tier pool -------------------------------------------------------
MINUTES_PER_JUDGMENT = 3.0
GENERALIST_RATE, SPECIALIST_RATE = 40.0, 200.0  # $ per hour
GEN_COST = GENERALIST_RATE * MINUTES_PER_JUDGMENT / 60  # $2 per judgment
SPEC_COST = SPECIALIST_RATE * MINUTES_PER_JUDGMENT / 60  # $10 per judgment
POOL_ITEMS, POOL_CLASSES = 2000, 4
N_GENERALISTS, N_SPECIALISTS = 60, 10
GEN_QUEUE, SPEC_QUEUE = 12, 6  # judgments each item can get from each tier
WORKER_SPREAD = 50.0  # Dirichlet concentration of a trainer's rows around the tier's
TIER_MAX_GEN, TIER_MAX_SPEC = 6, 3  # caps in the tier-aware policy
MIN_GAIN_PER_DOLLAR = 2e-3  # buy only if P(correct) rises >= 0.2 points per $ (a label worth $500)
LOOKAHEAD = 2
POOL_TARGET = 0.95  # headline target of the tier-aware policy
POOL_SWEEP = (0.9, 0.95, 0.97, 0.99)
POOL_ROUND_SIZE = 0.25  # larger rounds than the replay: 2,000 items, many more rounds
GOAL = 97.0  # accuracy goal (%) for the cheapest-cost comparison


def make_ds():
    return DawidSkene()  # library defaults, also for the every-judgment reference


# ---------------------------------------------------------------------------
# data


@dataclass
class CrowdSet:
    name: str
    items: np.ndarray  # judgments grouped by item; item codes 0..n_items-1
    workers: np.ndarray
    labels: np.ndarray
    n_items: int
    n_classes: int
    truth: np.ndarray  # class code per item, -1 where unknown
    avail: np.ndarray = field(init=False)
    start: np.ndarray = field(init=False)

    def __post_init__(self):
        self.avail = np.bincount(self.items, minlength=self.n_items)
        self.start = np.concatenate([[0], np.cumsum(self.avail)[:-1]])


def _codes(values):
    uniq, codes = np.unique(np.asarray(values), return_inverse=True)
    return uniq, codes.reshape(-1)


def load_crowd(folder: Path) -> CrowdSet:
    """answer.csv (question,worker,answer) + truth.csv (question,truth)."""
    with open(folder / "answer.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(folder / "truth.csv", newline="") as f:
        truth_rows = list(csv.DictReader(f))
    item_ids, items = _codes([r["question"] for r in rows])
    _, workers = _codes([r["worker"] for r in rows])
    classes, codes = _codes([r["answer"] for r in rows] + [r["truth"] for r in truth_rows])
    truth = np.full(len(item_ids), -1)
    pos = {v: i for i, v in enumerate(item_ids.tolist())}
    for r, c in zip(truth_rows, codes[len(rows):], strict=False):
        i = pos.get(r["question"])
        if i is not None:
            truth[i] = c
    order = np.argsort(items, kind="stable")
    return CrowdSet(folder.name, items[order], workers[order], codes[: len(rows)][order],
                    len(item_ids), len(classes), truth)


# ---------------------------------------------------------------------------
# Dawid-Skene on the revealed judgments


def fit(items, workers, labels, n_items, n_classes, groups=None):
    """DS on the given judgments -> (final probas, stopping probas, model).

    The final answer is DS's own posterior. The stopping rule uses the posterior
    recomputed with each trainer's confusion shrunk toward the pool's
    (``shrink_confusions``, SHRINK pseudo-judgments per class; ``groups``: a
    function of the trainer ids giving each trainer's pool, e.g. its tier): DS's
    maximum-likelihood confusions from a few judgments per trainer are
    over-confident, and so are its posteriors.
    """
    ds = make_ds().fit(items, workers, labels)
    ids = np.asarray(ds.item_ids_, dtype=np.intp)
    cls = np.asarray(ds.classes_, dtype=np.intp)
    final = np.full((n_items, n_classes), 1.0 / n_classes)
    final[ids] = 0.0
    final[np.ix_(ids, cls)] = ds.probas_
    t_ids = np.asarray(ds.trainer_ids_)
    widx = np.searchsorted(t_ids, workers)
    post = final[items][:, cls]  # expected class of each judged item
    m = np.stack([np.bincount(widx, weights=post[:, j], minlength=t_ids.size)
                  for j in range(cls.size)], axis=1)
    conf = shrink_confusions(ds.confusions_, m, strength=SHRINK,
                             groups=None if groups is None else groups(t_ids))
    stop = np.zeros((n_items, n_classes))
    stop[:, cls] = posteriors(items, np.searchsorted(cls, labels), widx, conf,
                              ds.class_prior_, n_items)
    return final, stop, ds


def accuracy(probas, truth):
    known = truth >= 0
    return float(np.mean(np.argmax(probas[known], axis=1) == truth[known]))


# ---------------------------------------------------------------------------
# real-data replay


def shuffled_rank(data: CrowdSet, rng) -> np.ndarray:
    """Position of each judgment in its item's random reveal order."""
    rank = np.empty(data.items.size, dtype=np.intp)
    for i0, n in zip(data.start, data.avail, strict=False):
        rank[i0 : i0 + n] = rng.permutation(n)
    return rank


def reveal(data: CrowdSet, rank, r):
    m = rank < r[data.items]
    return fit(data.items[m], data.workers[m], data.labels[m], data.n_items, data.n_classes)


def run_fixed(data: CrowdSet, rank, k):
    r = np.minimum(data.avail, k)
    return accuracy(reveal(data, rank, r)[0], data.truth), float(r.mean())


def run_adaptive(data: CrowdSet, rank, target=TARGET, budget=BUDGET):
    """Adaptive overlap replay; returns (accuracy, judgments per item, rounds).

    Round 0 reveals MIN_JUDGMENTS per item. Each round: DS on everything
    revealed (every trainer's confusion re-estimated), items below ``target``
    with judgments left are in doubt, the ROUND_SIZE most in doubt get one more
    judgment. Stops when no item is in doubt or when ``budget`` (fraction of
    the judgments of full overlap; None: no budget) is spent.
    """
    r = np.minimum(data.avail, MIN_JUDGMENTS)
    cap = np.inf if budget is None else max(budget * data.avail.sum(), r.sum())
    batch = max(1, round(ROUND_SIZE * data.n_items))
    rounds = 0
    while True:
        final, stop, _ = reveal(data, rank, r)
        rounds += 1
        doubt = needs_more(stop, r, MIN_JUDGMENTS, None, target) & (r < data.avail)
        left = cap - r.sum()
        if not doubt.any() or left < 1:
            break
        r[in_doubt_order(stop, r, mask=doubt)[: int(min(batch, left))]] += 1
    return accuracy(final, data.truth), float(r.mean()), rounds


def _real_seed(args):
    data, seed = args
    rank = shuffled_rank(data, np.random.default_rng(seed))
    fixed = [run_fixed(data, rank, k) for k in range(1, int(data.avail.max()) + 1)]
    sweep = [run_adaptive(data, rank, t, None)[:2] for t in THRESHOLD_SWEEP]
    budgets = [run_adaptive(data, rank, 1.0, b)[:2] for b in BUDGET_SWEEP]
    return fixed, sweep, run_adaptive(data, rank), budgets


def bench_real(data: CrowdSet, seeds: int, pool):
    full = fit(data.items, data.workers, data.labels, data.n_items, data.n_classes)[0]
    per_seed = list(pool.map(_real_seed, [(data, s) for s in range(seeds)]))
    fixed = list(zip(*[p[0] for p in per_seed], strict=False))
    sweep = list(zip(*[p[1] for p in per_seed], strict=False))
    adaptive = [p[2] for p in per_seed]
    budgets = list(zip(*[p[3] for p in per_seed], strict=False))
    return {
        "name": data.name,
        "kind": "real",
        "n_items": data.n_items,
        "n_truth": int((data.truth >= 0).sum()),
        "n_classes": data.n_classes,
        "n_judgments": int(data.items.size),
        "full_accuracy": accuracy(full, data.truth),
        "full_judgments_per_item": float(data.avail.mean()),
        **_headline(adaptive, "adaptive"),
        "adaptive_rounds": float(np.mean([a[2] for a in adaptive])),
        "fixed": [_summary(runs, k=k + 1) for k, runs in enumerate(fixed)],
        "threshold_sweep": [_summary(runs, target=t) for t, runs in zip(THRESHOLD_SWEEP, sweep, strict=False)],
        "budget_sweep": [_summary(runs, budget_fraction=b) for b, runs in zip(BUDGET_SWEEP, budgets, strict=False)],
        "settings": {"min_judgments": MIN_JUDGMENTS, "target_confidence": TARGET,
                     "budget_fraction": BUDGET, "shrink": SHRINK, "round_size": ROUND_SIZE,
                     "seeds": seeds},
    }


def _summary(runs, **key):
    a = np.array([x[0] for x in runs]) * 100
    j = np.array([x[1] for x in runs])
    out = dict(key)
    out.update(accuracy=float(a.mean()), accuracy_std=float(a.std()),
               judgments_per_item=float(j.mean()), judgments_std=float(j.std()))
    if len(runs[0]) > 2 and not isinstance(runs[0][2], int):
        c = np.array([x[2] for x in runs])
        out.update(cost_per_item=float(c.mean()), cost_std=float(c.std()))
    return out


def _headline(runs, prefix):
    s = _summary(runs)
    out = {f"{prefix}_accuracy": s["accuracy"] / 100,
           f"{prefix}_accuracy_std": s["accuracy_std"] / 100,
           f"{prefix}_judgments_per_item": s["judgments_per_item"],
           f"{prefix}_judgments_std": s["judgments_std"]}
    if "cost_per_item" in s:
        out[f"{prefix}_cost_per_item"] = s["cost_per_item"]
        out[f"{prefix}_cost_std"] = s["cost_std"]
    return out


# ---------------------------------------------------------------------------
# synthetic two-tier pool


def generalist_template(kind: str) -> np.ndarray:
    """Generalists' confusion: 75% accurate on average either way."""
    if kind == "uniform":
        return one_coin_confusion(0.75, POOL_CLASSES)
    # "fine": coarse distinctions easy (95%), the fine one (class 2 vs 3) near chance (55%)
    return np.array([
        [0.95, 0.03, 0.01, 0.01],
        [0.03, 0.95, 0.01, 0.01],
        [0.02, 0.02, 0.55, 0.41],
        [0.02, 0.02, 0.41, 0.55],
    ])


@dataclass
class Pool:
    truth: np.ndarray  # (n,)
    workers: np.ndarray  # (n, GEN_QUEUE + SPEC_QUEUE): generalists first, then specialists
    labels: np.ndarray


def make_pool(kind: str, rng) -> Pool:
    """Draw trainers (rows ~ Dirichlet around the tier's) and every possible judgment."""
    n, k = POOL_ITEMS, POOL_CLASSES

    def trainers(template, count):
        return np.array([[rng.dirichlet(WORKER_SPREAD * row) for row in template]
                         for _ in range(count)])

    gen = trainers(generalist_template(kind), N_GENERALISTS)
    spec = trainers(one_coin_confusion(0.95, k), N_SPECIALISTS)
    truth = rng.integers(0, k, n)

    def queue(conf, size, offset):
        w = np.argsort(rng.random((n, conf.shape[0])), axis=1)[:, :size]  # distinct trainers
        cum = np.cumsum(conf[w, truth[:, None]], axis=-1)
        lab = np.minimum((rng.random((n, size, 1)) > cum).sum(-1), k - 1)
        return w + offset, lab

    gw, gl = queue(gen, GEN_QUEUE, 0)
    sw, sl = queue(spec, SPEC_QUEUE, N_GENERALISTS)
    return Pool(truth, np.hstack([gw, sw]), np.hstack([gl, sl]))


def pool_fit(pool: Pool, rg, rs):
    n = pool.truth.size
    col = np.arange(pool.workers.shape[1])
    m = np.where(col < GEN_QUEUE, col < rg[:, None], col - GEN_QUEUE < rs[:, None])
    items = np.broadcast_to(np.arange(n)[:, None], m.shape)[m]
    return fit(items, pool.workers[m], pool.labels[m], n, POOL_CLASSES,
               groups=lambda ids: ids >= N_GENERALISTS)  # shrink within each tier


def pool_result(pool, final, rg, rs):
    cost = rg * GEN_COST + rs * SPEC_COST
    return accuracy(final, pool.truth), float((rg + rs).mean()), float(cost.mean())


def run_pool_fixed(pool, tier, k):
    n = pool.truth.size
    rg = np.full(n, k if tier == "gen" else 0)
    rs = np.full(n, k if tier == "spec" else 0)
    return pool_result(pool, pool_fit(pool, rg, rs)[0], rg, rs)


def run_pool_single(pool, tier, target):
    """Adaptive overlap with one tier: the real-data rule without a budget."""
    n = pool.truth.size
    cap = GEN_QUEUE if tier == "gen" else SPEC_QUEUE
    r = np.full(n, MIN_JUDGMENTS)
    zero = np.zeros(n, dtype=int)
    batch = max(1, round(POOL_ROUND_SIZE * n))
    while True:
        rg, rs = (r, zero) if tier == "gen" else (zero, r)
        final, stop, _ = pool_fit(pool, rg, rs)
        doubt = needs_more(stop, r, MIN_JUDGMENTS, cap, target)
        if not doubt.any():
            break
        r = r.copy()
        r[in_doubt_order(stop, r, mask=doubt)[:batch]] += 1
    return pool_result(pool, final, rg, rs)


def tier_confusion(ds, n_by_trainer, members, nominal):
    """Judgment-weighted mean DS confusion of a tier's trainers; nominal until it has data."""
    ids = np.asarray(ds.trainer_ids_, dtype=np.intp)
    inside = np.isin(ids, members)
    w = n_by_trainer[ids[inside]].astype(float)
    if w.sum() < 50 or ds.confusions_.shape[-1] != POOL_CLASSES:
        return nominal
    return np.tensordot(w / w.sum(), ds.confusions_[inside], axes=1)


def run_pool_tiered(pool, target):
    """Tier-aware adaptive overlap.

    Every item starts with MIN_JUDGMENTS generalist judgments. Each round: DS
    on everything revealed; each tier's confusion = judgment-weighted mean of
    its trainers' DS confusions (the advertised 75% / 95% until the tier has 50
    judgments); items below ``target`` get their next judgment from the tier
    ``choose_tiers`` picks (best expected accuracy gain per dollar over 1-2
    judgments; none above MIN_GAIN_PER_DOLLAR: the item is done); items still
    in doubt after TIER_MAX_GEN generalist judgments are escalated to the
    specialists (``escalate``); at most TIER_MAX_SPEC specialist judgments.
    """
    n = pool.truth.size
    rg = np.full(n, MIN_JUDGMENTS)
    rs = np.zeros(n, dtype=int)
    gen_ids = np.arange(N_GENERALISTS)
    spec_ids = np.arange(N_GENERALISTS, N_GENERALISTS + N_SPECIALISTS)
    nominal_gen = one_coin_confusion(0.75, POOL_CLASSES)
    nominal_spec = one_coin_confusion(0.95, POOL_CLASSES)
    batch = max(1, round(POOL_ROUND_SIZE * n))
    col = np.arange(pool.workers.shape[1])
    while True:
        final, stop, ds = pool_fit(pool, rg, rs)
        m = np.where(col < GEN_QUEUE, col < rg[:, None], col - GEN_QUEUE < rs[:, None])
        n_by = np.bincount(pool.workers[m], minlength=N_GENERALISTS + N_SPECIALISTS)
        tiers = [
            Tier("generalist", GEN_COST,
                 confusion=tier_confusion(ds, n_by, gen_ids, nominal_gen)),
            Tier("specialist", SPEC_COST,
                 confusion=tier_confusion(ds, n_by, spec_ids, nominal_spec)),
        ]
        doubt = item_confidence(stop) < target
        choice = np.full(n, -1)
        choice[doubt] = choose_tiers(stop[doubt], tiers, MIN_GAIN_PER_DOLLAR, LOOKAHEAD)
        stuck = escalate(stop, rg, TIER_MAX_GEN, target)  # generalists exhausted: senior tier
        choice[doubt & stuck & (choice != 1)] = 1
        choice[(choice == 0) & (rg >= TIER_MAX_GEN)] = -1
        choice[(choice == 1) & (rs >= TIER_MAX_SPEC)] = -1
        want = choice >= 0
        if not want.any():
            break
        serve = in_doubt_order(stop, rg + rs, mask=want)[:batch]
        rg, rs = rg.copy(), rs.copy()
        rg[serve[choice[serve] == 0]] += 1
        rs[serve[choice[serve] == 1]] += 1
    return pool_result(pool, final, rg, rs)


def _pool_seed(args):
    kind, seed = args
    pool = make_pool(kind, np.random.default_rng(1000 + seed))
    n = pool.truth.size
    full_g, full_s = np.full(n, GEN_QUEUE), np.full(n, SPEC_QUEUE)
    return {
        "full": pool_result(pool, pool_fit(pool, full_g, full_s)[0], full_g, full_s),
        "fixed_gen": [run_pool_fixed(pool, "gen", k) for k in range(1, GEN_QUEUE + 1)],
        "fixed_spec": [run_pool_fixed(pool, "spec", k) for k in range(1, SPEC_QUEUE + 1)],
        "adaptive_gen": [run_pool_single(pool, "gen", t) for t in POOL_SWEEP],
        "adaptive_spec": [run_pool_single(pool, "spec", t) for t in POOL_SWEEP],
        "tiered": [run_pool_tiered(pool, t) for t in POOL_SWEEP],
    }


def cheapest(points, goal=GOAL):
    ok = [p for p in points if p["accuracy"] >= goal]
    if not ok:
        best = max(points, key=lambda p: p["accuracy"])
        return {"reached": False, "best_accuracy": best["accuracy"],
                "at_cost": best["cost_per_item"]}
    p = min(ok, key=lambda p: p["cost_per_item"])
    return {"reached": True, "cost_per_item": p["cost_per_item"], "accuracy": p["accuracy"],
            "setting": {k: v for k, v in p.items() if k in ("k", "target")}}


def bench_pool(kind: str, seeds: int, pool):
    per_seed = list(pool.map(_pool_seed, [(kind, s) for s in range(seeds)]))
    col = {key: list(zip(*[p[key] for p in per_seed], strict=False)) for key in per_seed[0] if key != "full"}
    keyname = {"fixed_gen": "k", "fixed_spec": "k"}
    curves = {}
    for key, runs in col.items():
        params = range(1, len(runs) + 1) if key in keyname else POOL_SWEEP
        curves[key] = [_summary(r, **{keyname.get(key, "target"): p}) for p, r in zip(params, runs, strict=False)]
    head = curves["tiered"][POOL_SWEEP.index(POOL_TARGET)]
    full = _summary([p["full"] for p in per_seed])
    return {
        "name": "two-tier" if kind == "fine" else "two-tier-uniform",
        "kind": "synthetic",
        "n_items": POOL_ITEMS,
        "n_truth": POOL_ITEMS,
        "n_classes": POOL_CLASSES,
        "generalist_errors": ("uniform over the other classes" if kind == "uniform"
                              else "95% on classes 0/1, 55% on the fine 2-vs-3 distinction"),
        "cost_per_judgment": {"generalist": GEN_COST, "specialist": SPEC_COST},
        "full_accuracy": full["accuracy"] / 100,
        "full_judgments_per_item": full["judgments_per_item"],
        "full_cost_per_item": full["cost_per_item"],
        "adaptive_accuracy": head["accuracy"] / 100,
        "adaptive_accuracy_std": head["accuracy_std"] / 100,
        "adaptive_judgments_per_item": head["judgments_per_item"],
        "adaptive_judgments_std": head["judgments_std"],
        "adaptive_cost_per_item": head["cost_per_item"],
        "adaptive_cost_std": head["cost_std"],
        "cheapest_at_97": {
            "generalists_only": cheapest(curves["fixed_gen"] + curves["adaptive_gen"]),
            "specialists_only": cheapest(curves["fixed_spec"] + curves["adaptive_spec"]),
            "tier_aware": cheapest(curves["tiered"]),
        },
        "curves": curves,
        "settings": {"minutes_per_judgment": MINUTES_PER_JUDGMENT,
                     "generalists": N_GENERALISTS, "specialists": N_SPECIALISTS,
                     "min_generalist": MIN_JUDGMENTS, "max_generalist": TIER_MAX_GEN,
                     "max_specialist": TIER_MAX_SPEC, "target_confidence": POOL_TARGET,
                     "min_gain_per_dollar": MIN_GAIN_PER_DOLLAR, "lookahead": LOOKAHEAD,
                     "seeds": seeds},
    }


# ---------------------------------------------------------------------------
# output


def _pm(m, s, fmt=".2f"):
    return f"{m:{fmt}} ± {s:{fmt}}"


def print_real(res):
    print(f"\n== {res['name']}: {res['n_items']} items ({res['n_truth']} with truth), "
          f"{res['n_classes']} classes, {res['full_judgments_per_item']:.1f} judgments/item ==")
    print(f"{'method':<34}{'judgments/item':>18}{'accuracy %':>18}")
    for f in res["fixed"]:
        print(f"{'fixed k=' + str(f['k']):<34}{f['judgments_per_item']:>18.2f}"
              f"{_pm(f['accuracy'], f['accuracy_std']):>18}")
    print(f"{'DS on every judgment':<34}{res['full_judgments_per_item']:>18.2f}"
          f"{res['full_accuracy'] * 100:>18.2f}")
    for a in res["threshold_sweep"]:
        print(f"{'adaptive, target ' + str(a['target']) + ', no budget':<34}"
              f"{_pm(a['judgments_per_item'], a['judgments_std']):>18}"
              f"{_pm(a['accuracy'], a['accuracy_std']):>18}")
    print(f"{'adaptive, 65% budget (headline)':<34}"
          f"{_pm(res['adaptive_judgments_per_item'], res['adaptive_judgments_std']):>18}"
          f"{_pm(res['adaptive_accuracy'] * 100, res['adaptive_accuracy_std'] * 100):>18}")
    for a in res["budget_sweep"]:
        tag = f"adaptive, {a['budget_fraction']:.0%} budget"
        print(f"{tag:<34}{_pm(a['judgments_per_item'], a['judgments_std']):>18}"
              f"{_pm(a['accuracy'], a['accuracy_std']):>18}")
    saved = 1 - res["adaptive_judgments_per_item"] / res["full_judgments_per_item"]
    gap = (res["adaptive_accuracy"] - res["full_accuracy"]) * 100
    print(f"headline: {saved:.1%} fewer judgments, {gap:+.2f} accuracy points vs every judgment "
          f"({res['seconds']:.0f}s)")


def print_pool(res):
    print(f"\n== {res['name']}: {res['n_items']} items, {res['n_classes']} classes; generalists "
          f"${GEN_COST:.0f}/judgment, 75% ({res['generalist_errors']}); specialists "
          f"${SPEC_COST:.0f}/judgment, 95% ==")
    print(f"{'method':<32}{'judgments/item':>16}{'$/item':>18}{'accuracy %':>18}")
    names = {"fixed_gen": "generalists, k=", "fixed_spec": "specialists, k=",
             "adaptive_gen": "adaptive generalists, t=",
             "adaptive_spec": "adaptive specialists, t=",
             "tiered": "tier-aware, t="}
    for key, rows in res["curves"].items():
        for r in rows:
            tag = names[key] + str(r.get("k", r.get("target")))
            if key == "tiered" and r["target"] == POOL_TARGET:
                tag += " *"
            print(f"{tag:<32}{r['judgments_per_item']:>16.2f}"
                  f"{_pm(r['cost_per_item'], r['cost_std']):>18}"
                  f"{_pm(r['accuracy'], r['accuracy_std']):>18}")
    for who, c in res["cheapest_at_97"].items():
        if c["reached"]:
            print(f"cheapest >= {GOAL:.0f}%: {who:<17} ${c['cost_per_item']:6.2f}/item "
                  f"({c['accuracy']:.2f}%, {c['setting']})")
        else:
            print(f"cheapest >= {GOAL:.0f}%: {who:<17} not reached (best {c['best_accuracy']:.2f}% "
                  f"at ${c['at_cost']:.2f}/item)")
    print(f"({res['seconds']:.0f}s)")


def plot(results, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.3 * rows), squeeze=False)
    for ax, res in zip(axes.ravel(), results, strict=False):
        if res["kind"] == "real":
            f = res["fixed"]
            x = np.array([p["judgments_per_item"] for p in f])
            y = np.array([p["accuracy"] for p in f])
            s = np.array([p["accuracy_std"] for p in f])
            ax.plot(x, y, "o-", color="tab:gray", ms=3, label="fixed overlap k")
            ax.fill_between(x, y - s, y + s, color="tab:gray", alpha=0.2, lw=0)
            a = res["threshold_sweep"]
            ax.plot([p["judgments_per_item"] for p in a], [p["accuracy"] for p in a], "s-",
                    color="tab:blue", ms=4, label="adaptive, target 0.99 / 0.999 / 0.9999")
            b = res["budget_sweep"]
            ax.plot([p["judgments_per_item"] for p in b], [p["accuracy"] for p in b], "d--",
                    color="tab:red", ms=4, alpha=0.6, label="adaptive, 75 / 85 / 95% budget")
            ax.errorbar(res["adaptive_judgments_per_item"], res["adaptive_accuracy"] * 100,
                        xerr=res["adaptive_judgments_std"], yerr=res["adaptive_accuracy_std"] * 100,
                        fmt="*", color="tab:red", ms=12, label="adaptive, 65% budget")
            ax.axhline(res["full_accuracy"] * 100, ls="--", color="k", lw=1,
                       label="DS on every judgment")
            ax.set_xlabel("judgments per item")
            top = max(y.max(), res["full_accuracy"] * 100)
            ax.set_ylim(max(top - 10, 0), min(top + 1.5, 100))  # zoom on the top end
        else:
            c = res["curves"]
            styles = {"fixed_gen": ("o:", "tab:orange", "generalists, fixed k"),
                      "adaptive_gen": ("o-", "tab:orange", "generalists, adaptive"),
                      "fixed_spec": ("^:", "tab:purple", "specialists, fixed k"),
                      "adaptive_spec": ("^-", "tab:purple", "specialists, adaptive"),
                      "tiered": ("s-", "tab:green", "tier-aware adaptive")}
            for key, (st, colr, lab) in styles.items():
                pts = sorted(c[key], key=lambda p: p["cost_per_item"])
                ax.plot([p["cost_per_item"] for p in pts], [p["accuracy"] for p in pts], st,
                        color=colr, ms=4, label=lab)
            ax.axhline(GOAL, ls="--", color="k", lw=1, label=f"{GOAL:.0f}%")
            ax.set_xlabel("$ per item")
            ax.set_xlim(0, 45)
            ax.set_ylim(70, 100)
        ax.set_title(f"{res['name']} ({res['n_items']} items, {res['n_classes']} classes)")
        ax.set_ylabel("accuracy %")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Adaptive overlap and tier-aware routing benchmark.")
    ap.add_argument("--data", type=Path, action="append",
                    help="folder with answer.csv (question,worker,answer) and truth.csv "
                         "(question,truth); repeatable. Default: "
                         "../shared/data/crowd/{duck,product,dog} "
                         "and the synthetic two-tier pools")
    ap.add_argument("--seeds", type=int, default=20, help="random orders / pools (default 20)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per data set")
    ap.add_argument("--no-synthetic", action="store_true", help="skip the two-tier pools")
    ap.add_argument("--plot", type=Path, default=Path(__file__).resolve().parent / "routing.png",
                    help="where to write the PNG (default bench/routing.png)")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    args = ap.parse_args(argv)

    folders = args.data or [CROWD / s for s in REAL_SETS]
    synthetic = not args.no_synthetic and not args.data
    results = []
    with get_context("fork").Pool(max(1, args.jobs)) as pool:
        jobs = [("real", f) for f in folders]
        if synthetic:
            jobs += [("pool", "fine"), ("pool", "uniform")]
        for what, arg in jobs:
            t0 = time.perf_counter()
            res = bench_real(load_crowd(arg), args.seeds, pool) if what == "real" else bench_pool(arg, args.seeds, pool)
            res["seconds"] = time.perf_counter() - t0
            results.append(res)
            if args.json:
                print(json.dumps(res))
            elif what == "real":
                print_real(res)
            else:
                print_pool(res)
            sys.stdout.flush()
    if not args.no_plot:
        plot(results, args.plot)
        if not args.json:
            print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
