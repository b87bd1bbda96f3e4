"""Forecast what the rest of a programme costs: judgments, expert-hours and money to reach a target.

A pilot measures each trainer's confusion matrix (with its uncertainty), their speed and their
rate. The forecast simulates adaptive overlap (:mod:`.stopping`) on synthetic items drawn from
the class prior: each item is judged by trainers drawn in proportion to their share of the
pilot's judgments, one at a time, until its posterior reaches a confidence threshold or it has
``max_judgments``; the threshold is the lowest that reaches the target accuracy. Trainer
parameters are uncertain, so the whole simulation is repeated over ``n_draws`` draws of every
trainer's confusion matrix from its Dirichlet posterior (a parametric bootstrap), each draw
choosing its own threshold: the spread over draws is the forecast's interval.

Model
-----
Dawid-Skene (Dawid & Skene 1979): given the true class, judgments are independent and trainer
``t`` answers ``o`` with probability ``C_t[true, o]``. In each draw the platform's posterior is
computed with that draw's confusions (the platform re-estimates trainers as it goes, so it comes
to know the trainers as they are); the expected accuracy of an item stopped with posterior ``p``
is ``max_k p_k`` (the Bayes decision is right with that probability), which is exact under the
model and has less noise than counting simulated hits.

Targets
-------
``accuracy``: expected share of items whose consensus is right. ``alpha``: Krippendorff's alpha
(nominal, large sample) between the consensus and the truth, ``1 - (1 - acc) / (1 - sum_k p_k^2)``
with ``p`` the class prior, turned into the accuracy it needs (never below what the formula gives:
the forecast is for at least that agreement).

Known optimism: real trainers' errors on a hard item go together, which the model ignores, so
agreement settles items sooner in the simulation than in reality (``bench/forecast_backtest.py``
measures by how much on real crowd sets).

Money is returned in integer cents (rounded half up from the simulated mean and quantiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Forecast", "OneCoinForecast", "TrainerPool", "accuracy_for_alpha", "forecast", "forecast_adaptive",
           "parse_target"]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-12
_TARGETS = ("accuracy", "alpha")
# Trainers are drawn for an item by rejection when a repeat has at most this probability
# (see _draw_trainers).
REJECTION_MAX_REPEAT = 0.5


@dataclass(frozen=True)
class TrainerPool:
    """The pilot's trainers.

    ``confusions``: (T, K, K) ``[t, true, answer]`` point estimates (rows sum to 1).
    ``evidence``: (T,) judgments behind each confusion (items with overlap or gold); each row
    ``k`` is Dirichlet with concentration ``confusion[k] * (evidence * prior_k + prior_strength)``.
    ``None`` means the confusions are known exactly.
    ``share``: (T,) relative frequency with which each trainer judges (the pilot's judgments).
    ``seconds``: (T,) active seconds per judgment; ``rate_cents``: (T,) hourly rate in cents.
    ``tiers``: optional (T,) tier name per trainer (for mixes).
    """

    confusions: Any
    share: Any
    seconds: Any
    rate_cents: Any
    evidence: Any = None
    tiers: Sequence[str] | None = None
    prior_strength: float = 2.0

    @classmethod
    def from_accuracies(cls, accuracies: Any, k: int, **kwargs: Any) -> TrainerPool:
        """One-coin trainers: right with ``accuracies[t]``, wrong evenly over the other classes."""
        acc = np.asarray(accuracies, dtype=np.float64)
        if k < 2:
            raise ValueError("k must be >= 2")
        conf = np.repeat(((1 - acc) / (k - 1))[:, None, None], k, axis=1).repeat(k, axis=2)
        idx = np.arange(k)
        conf[:, idx, idx] = acc[:, None]
        return cls(confusions=conf, **kwargs)

    def subset(self, mask: Any) -> TrainerPool:
        m = np.asarray(mask, dtype=bool)
        return TrainerPool(
            confusions=np.asarray(self.confusions)[m], share=np.asarray(self.share)[m],
            seconds=np.asarray(self.seconds)[m], rate_cents=np.asarray(self.rate_cents)[m],
            evidence=None if self.evidence is None else np.asarray(self.evidence)[m],
            tiers=None if self.tiers is None else [t for t, keep in zip(self.tiers, m, strict=True) if keep],
            prior_strength=self.prior_strength)


@dataclass(frozen=True)
class Forecast:
    """Totals for the remaining items: (mean, low, high) with the 90% interval over draws."""

    items: int
    target: str
    target_value: float
    target_accuracy: float
    judgments: tuple[float, float, float]
    judgments_per_item: tuple[float, float, float]
    hours: tuple[float, float, float]
    cost_cents: tuple[int, int, int]
    accuracy: tuple[float, float, float]
    threshold: float                 # median over draws of the confidence threshold chosen
    reach_probability: float         # share of draws in which the target is reachable at all
    draws: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def tri(v: tuple[Any, ...]) -> dict[str, Any]:
            return {"mean": v[0], "low": v[1], "high": v[2]}

        return {"items": self.items, "target": self.target, "target_value": self.target_value,
                "target_accuracy": round(self.target_accuracy, 4),
                "judgments": tri(tuple(round(x, 1) for x in self.judgments)),
                "judgments_per_item": tri(tuple(round(x, 3) for x in self.judgments_per_item)),
                "hours": tri(tuple(round(x, 2) for x in self.hours)),
                "cost_cents": tri(self.cost_cents),
                "accuracy": tri(tuple(round(x, 4) for x in self.accuracy)),
                "threshold": round(self.threshold, 4), "reach_probability": round(self.reach_probability, 3),
                "draws": self.draws}


def parse_target(text: str) -> tuple[str, float]:
    """``"accuracy=0.95"`` or ``"alpha:0.7"`` -> (kind, value); ValueError naming the problem."""
    for sep in ("=", ":"):
        if sep in text:
            kind, _, raw = text.partition(sep)
            break
    else:
        raise ValueError(f"target must look like accuracy=0.95 or alpha=0.7, got {text!r}")
    kind = kind.strip().lower()
    if kind not in _TARGETS:
        raise ValueError(f"target kind must be accuracy or alpha, got {kind!r}")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"target value must be a number, got {raw.strip()!r}") from None
    if not 0.0 < value < 1.0 or not np.isfinite(value):
        raise ValueError(f"target value must be between 0 and 1 (exclusive), got {value}")
    return kind, value


def accuracy_for_alpha(alpha: float, prior: Any) -> float:
    """Accuracy whose nominal Krippendorff alpha against the truth is ``alpha``, for class ``prior``."""
    p = np.asarray(prior, dtype=np.float64)
    p = p / p.sum()
    chance = 1.0 - float(np.sum(p * p))
    return float(min(1.0, 1.0 - (1.0 - alpha) * chance))


def _cents(x: float) -> int:
    return int(Decimal(repr(float(x))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_pool(pool: TrainerPool, prior: FloatArray) -> tuple[FloatArray, ...]:
    conf = np.asarray(pool.confusions, dtype=np.float64)
    if conf.ndim != 3 or conf.shape[1] != conf.shape[2] or conf.shape[0] == 0:
        raise ValueError(f"confusions must be (trainers, K, K) with at least one trainer, got {conf.shape}")
    t, k, _ = conf.shape
    if prior.shape != (k,):
        raise ValueError(f"prior must have {k} entries, got {prior.shape}")
    if np.any(conf < 0) or not np.allclose(conf.sum(axis=2), 1.0, atol=1e-6):
        raise ValueError("each confusion row must be a probability distribution")
    out = []
    for name in ("share", "seconds", "rate_cents"):
        a = np.asarray(getattr(pool, name), dtype=np.float64)
        if a.shape != (t,) or np.any(~np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be {t} non-negative numbers")
        out.append(a)
    if out[0].sum() <= 0:
        raise ValueError("share must have a positive entry")
    ev = None if pool.evidence is None else np.asarray(pool.evidence, dtype=np.float64)
    if ev is not None and (ev.shape != (t,) or np.any(ev < 0)):
        raise ValueError(f"evidence must be {t} non-negative numbers")
    return conf, out[0] / out[0].sum(), out[1], out[2], ev  # type: ignore[return-value]


def _draw_trainers(rng: np.random.Generator, share: FloatArray, log_share: FloatArray, n: int, m: int) -> Any:
    """(n, m) trainers for n items: each item's next trainer drawn in proportion to ``share``
    among those it has not had yet (with repeats only when there are fewer than m trainers).

    A pool where a repeat is unlikely (the m - 1 largest shares hold at most half) draws by
    rejection: a trainer the item already has is drawn again, which gives exactly the
    distribution of drawing among the rest, in a few vectorised passes whatever the pool's
    size. Otherwise every trainer gets a Gumbel key and the m largest win (Gumbel top-k), which
    costs n x T random numbers: hundreds of milliseconds per forecast for a pool of hundreds.
    """
    t = share.size
    if t < m:
        return rng.choice(t, size=(n, m), p=share)
    if np.sort(share)[::-1][:m - 1].sum() <= REJECTION_MAX_REPEAT:
        cdf = np.cumsum(share)
        cdf /= cdf[-1]
        who = np.empty((n, m), dtype=np.intp)
        for j in range(m):
            todo = np.arange(n)
            while todo.size:
                pick = np.minimum(np.searchsorted(cdf, rng.random(todo.size), side="right"), t - 1)
                who[todo, j] = pick
                todo = todo[(who[todo, :j] == pick[:, None]).any(axis=1)]
        return who
    keys = log_share[None, :] + rng.gumbel(size=(n, t))
    top = np.argpartition(-keys, m - 1, axis=1)[:, :m]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1), axis=1)


def _per_threshold(grid: FloatArray, conf: FloatArray, min_judgments: int, values: FloatArray) -> FloatArray:
    """Sum over items of ``values[:, item, stop]`` for every threshold of ``grid``.

    An item stops at the first step ``j >= min_judgments`` whose confidence reaches the
    threshold, else at its last step: it stops at ``j`` for the thresholds in
    ``(max confidence of its earlier eligible steps, confidence at j]``, so each (item, step)
    adds its value to one run of the grid (a difference array) instead of testing every
    threshold against every step.
    """
    s, m = conf.shape
    g = grid.size
    eligible = np.arange(1, m + 1)[None, :] >= min_judgments
    c = np.where(eligible, conf, -np.inf)
    before = np.concatenate([np.full((s, 1), -np.inf), np.maximum.accumulate(c, axis=1)[:, :-1]], axis=1)
    lo = np.searchsorted(grid, before + 1e-12, side="right")  # the tolerance of `hi`: a repeat adds nothing
    hi = np.searchsorted(grid, c + 1e-12, side="right")
    hi[:, -1] = g
    hi = np.maximum(hi, lo)
    out = np.empty((values.shape[0], g))
    for i, v in enumerate(values):
        diff = np.bincount(lo.ravel(), weights=v.ravel(), minlength=g + 1) \
            - np.bincount(hi.ravel(), weights=v.ravel(), minlength=g + 1)
        out[i] = np.cumsum(diff)[:g]
    return out


def forecast(pool: TrainerPool, prior: Any, n_items: int, target: str | tuple[str, float] = "accuracy=0.95", *,
             min_judgments: int = 1, max_judgments: int = 5, n_draws: int = 200, n_sim_items: int = 2000,
             thresholds: Any = None, level: float = 0.90, error_correlation: float = 0.0,
             random_state: Any = 0) -> Forecast:
    """Judgments, hours and cents to bring ``n_items`` more items to ``target`` (module docstring).

    ``error_correlation`` (rho in [0, 1)): each judgment after an item's first repeats that first
    answer with probability rho instead of being drawn independently (trainers misled alike by a
    hard item), and the posterior weighs ``n`` judgments as ``n / (1 + rho (n - 1))`` independent
    ones, as the platform's consensus does; accuracy is then counted against the simulated truth
    (the posterior is no longer exact). 0: plain Dawid-Skene.
    """
    kind, value = parse_target(target) if isinstance(target, str) else target
    if kind not in _TARGETS:
        raise ValueError(f"target kind must be accuracy or alpha, got {kind!r}")
    p = np.asarray(prior, dtype=np.float64)
    if p.ndim != 1 or np.any(p < 0) or p.sum() <= 0:
        raise ValueError("prior must be non-negative with a positive sum")
    p = p / p.sum()
    conf, share, seconds, rate, evidence = _check_pool(pool, p)
    n_items, min_judgments, max_judgments = int(n_items), int(min_judgments), int(max_judgments)
    if n_items < 0:
        raise ValueError("n_items must be >= 0")
    if not 1 <= min_judgments <= max_judgments:
        raise ValueError(f"need 1 <= min_judgments ({min_judgments}) <= max_judgments ({max_judgments})")
    rho = float(error_correlation)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"error_correlation must be in [0, 1), got {error_correlation}")
    if n_draws < 1 or n_sim_items < 1:
        raise ValueError("n_draws and n_sim_items must be >= 1")
    want = float(value) if kind == "accuracy" else accuracy_for_alpha(float(value), p)
    grid = np.unique(np.concatenate([np.linspace(0.5, 0.99, 50), [0.995, 0.999, 0.9999, 1.0]])) \
        if thresholds is None else np.sort(np.asarray(thresholds, dtype=np.float64))
    rng = np.random.default_rng(random_state)
    k = conf.shape[1]
    cost_per = seconds / 3600.0 * rate  # cents per judgment of each trainer
    steps = np.arange(1, max_judgments + 1)
    per_item_j = np.empty(n_draws)
    per_item_s = np.empty(n_draws)
    per_item_c = np.empty(n_draws)
    acc = np.empty(n_draws)
    chosen = np.empty(n_draws)
    reached = np.zeros(n_draws, dtype=bool)
    log_share = np.log(np.maximum(share, _EPS))
    for b in range(n_draws):
        if evidence is None:
            c_b = conf
        else:
            conc = conf * (evidence[:, None, None] * p[None, :, None] + pool.prior_strength)
            c_b = rng.gamma(np.maximum(conc, _EPS))
            c_b = c_b / c_b.sum(axis=2, keepdims=True)
        truth = rng.choice(k, size=n_sim_items, p=p)
        who = _draw_trainers(rng, share, log_share, n_sim_items, max_judgments)
        # Per-trainer tables first (T x K x K), then gathered per judgment: the same numbers as
        # transforming the gathered (S x M x K) arrays, for a fraction of the work.
        rows = c_b.cumsum(axis=2)[who, truth[:, None], :]       # (S, M, K) cumulative answer probabilities
        u = rng.random((n_sim_items, max_judgments, 1))
        labels = np.minimum((rows < u).sum(axis=2), k - 1)
        if rho > 0:
            labels = np.where(rng.random(labels.shape) < rho, labels[:, :1], labels)
        loglik = np.log(np.maximum(c_b, _EPS))[who, :, labels]  # (S, M, K): log C[t, k, label]
        cum = np.cumsum(loglik, axis=1)
        if rho > 0:  # Kish's design effect, as BayesianDawidSkene.error_correlation
            cum = cum / (1.0 + rho * (steps - 1))[None, :, None]
        logpost = np.log(np.maximum(p, _EPS)) + cum
        logpost -= logpost.max(axis=2, keepdims=True)
        post = np.exp(logpost)                                  # unnormalised; its largest entry is 1
        conf_s = 1.0 / post.sum(axis=2)                         # (S, M) confidence after j judgments
        # expected accuracy at each step: exact (the max posterior) under independence, else counted
        hit = conf_s if rho == 0 else (post.argmax(axis=2) == truth[:, None]).astype(np.float64)
        cost_cum = np.cumsum(cost_per[who], axis=1)
        sec_cum = np.cumsum(seconds[who], axis=1)
        sums = _per_threshold(grid, conf_s, min_judgments, np.stack([
            np.broadcast_to(steps, conf_s.shape), hit, sec_cum, cost_cum]))
        per = sums / n_sim_items                                # (4, G): judgments, accuracy, seconds, cents
        good = np.flatnonzero(per[1] >= want - 1e-9)
        # unreachable: the cheapest threshold with the best accuracy there is (a judgment that
        # cannot change any answer adds nothing)
        g = int(good[0]) if good.size else int(np.flatnonzero(per[1] >= per[1].max() - 1e-9)[0])
        reached[b] = good.size > 0
        chosen[b] = grid[g]
        per_item_j[b], acc[b], per_item_s[b], per_item_c[b] = per[:, g]
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2

    def tri(x: FloatArray, scale: float = 1.0) -> tuple[float, float, float]:
        return (float(x.mean() * scale), float(np.quantile(x, lo_q) * scale), float(np.quantile(x, hi_q) * scale))

    cost = tri(per_item_c, n_items)
    return Forecast(items=n_items, target=kind, target_value=float(value), target_accuracy=want,
                    judgments=tri(per_item_j, n_items), judgments_per_item=tri(per_item_j),
                    hours=tri(per_item_s, n_items / 3600.0), cost_cents=(_cents(cost[0]), _cents(cost[1]),
                                                                         _cents(cost[2])),
                    accuracy=tri(acc), threshold=float(np.median(chosen)),
                    reach_probability=float(reached.mean()), draws=n_draws,
                    details={"median": {"judgments": float(np.median(per_item_j) * n_items),
                                        "hours": float(np.median(per_item_s) * n_items / 3600.0),
                                        "cost_cents": _cents(float(np.median(per_item_c) * n_items)),
                                        "accuracy": float(np.median(acc))}})


# -- the one-coin forecast ------------------------------------------------------------------------
# Reliabilities taken as known, one-coin errors, no correlation: the simpler model that
# bench/forecast_backtest_one_coin.py back-tests. ``forecast`` above is the one the platform uses.
SAMPLE_ITEMS = 2000  # items simulated; totals are scaled to n_items (a wider, not narrower, interval)
_GRID = (0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class OneCoinForecast:
    reached: bool                 # whether some stopping rule reaches the target within max_overlap
    stop_confidence: float        # the stopping confidence chosen
    accuracy: tuple[float, float, float]      # simulated accuracy: 5th, 50th, 95th percentile
    judgments: tuple[float, float, float]     # judgments for the remaining items
    hours: tuple[float, float, float]         # expert-hours
    dollars: tuple[float, float, float]
    mean_overlap: float


def forecast_adaptive(reliability: Any, share: Any, seconds: Any, hourly_rate: Any, *, n_items: int,
                      n_classes: int, target_accuracy: float, min_overlap: int = 1, max_overlap: int = 5,
                      n_sims: int = 200, random_state: int | np.random.Generator | None = 0) -> OneCoinForecast:
    """Simulate adaptive overlap on ``n_items`` items; see the module docstring."""
    r = np.clip(np.asarray(reliability, dtype=np.float64), 1e-3, 1 - 1e-3)
    w = np.asarray(share, dtype=np.float64)
    sec = np.asarray(seconds, dtype=np.float64)
    rate = np.asarray(hourly_rate, dtype=np.float64)
    if not (r.shape == w.shape == sec.shape == rate.shape) or r.size == 0:
        raise ValueError("reliability, share, seconds and hourly_rate need one value per trainer")
    if n_classes < 2 or n_items < 0 or not 0 < target_accuracy < 1:
        raise ValueError("need n_classes >= 2, n_items >= 0 and a target accuracy in (0, 1)")
    if not 1 <= min_overlap <= max_overlap:
        raise ValueError("need 1 <= min_overlap <= max_overlap")
    if np.any(w < 0) or not w.sum() > 0 or np.any(sec < 0) or np.any(rate < 0):
        raise ValueError("shares, seconds and rates must be non-negative, shares not all zero")
    w = w / w.sum()
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    m = min(max(int(n_items), 1), SAMPLE_ITEMS)  # simulate a sample of items and scale up
    # one draw of trainers and answers per simulation and slot, shared by every stopping rule
    who = rng.choice(r.size, size=(n_sims, m, max_overlap), p=w)
    right = rng.random((n_sims, m, max_overlap)) < r[who]
    wrong = rng.integers(1, n_classes, (n_sims, m, max_overlap))  # truth is class 0
    answer = np.where(right, 0, wrong)
    log_right = np.log(r[who])
    log_wrong = np.log((1 - r[who]) / (n_classes - 1))
    results = []
    for stop in _GRID:
        logp = np.zeros((n_sims, m, n_classes))
        bought = np.zeros((n_sims, m), dtype=np.int64)
        open_ = np.ones((n_sims, m), dtype=bool)
        for j in range(max_overlap):
            take = open_
            onehot = answer[:, :, j][..., None] == np.arange(n_classes)
            add = np.where(onehot, log_right[:, :, j][..., None], log_wrong[:, :, j][..., None])
            logp += np.where(take[..., None], add, 0.0)
            bought += take
            post = np.exp(logp - logp.max(axis=2, keepdims=True))
            post /= post.sum(axis=2, keepdims=True)
            if j + 1 >= min_overlap:
                open_ = open_ & (post.max(axis=2) < stop)
        post = np.exp(logp - logp.max(axis=2, keepdims=True))
        ties = post.max(axis=2, keepdims=True) == post
        correct = ties[:, :, 0] / ties.sum(axis=2)   # ties broken at random: expected share right
        acc = correct.mean(axis=1)
        used = np.arange(max_overlap)[None, None, :] < bought[..., None]
        secs = (sec[who] * used).sum(axis=(1, 2))
        cost = (sec[who] / 3600 * rate[who] * used).sum(axis=(1, 2))
        results.append((stop, acc, bought.sum(axis=1), secs / 3600, cost))
        if np.median(acc) >= target_accuracy:
            break
    stop, acc, judg, hours, cost = results[-1]
    scale = n_items / m  # zero items: the simulation ran on one, the answer is zero

    def q(x: np.ndarray, k: float = 1.0) -> tuple[float, float, float]:
        lo, mid, hi = np.percentile(x * k, [5, 50, 95])
        return float(lo), float(mid), float(hi)

    return OneCoinForecast(reached=bool(np.median(acc) >= target_accuracy), stop_confidence=float(stop),
                    accuracy=q(acc), judgments=q(judg, scale), hours=q(hours, scale), dollars=q(cost, scale),
                    mean_overlap=float(judg.mean() / m))
