"""Forecast what a target costs before it is bought: simulate adaptive overlap on the items left.

Given each trainer's measured reliability (accuracy), share of the work, seconds per task and
hourly rate, :func:`forecast_adaptive` simulates the remaining items many times: every item gets
``min_overlap`` judgments from trainers drawn by their share, then more, one at a time, while
the posterior of its leading answer is below a stopping confidence and it has fewer than
``max_overlap``. Judgments follow the one-coin model (a trainer is right with their
reliability, otherwise picks one of the other ``n_classes - 1`` answers at random; Dawid &
Skene 1979 with symmetric errors) and posteriors are computed under the same model, so the
stopping rule is the one adaptive overlap applies (Ipeirotis, Provost, Sheng & Wang 2014,
"Repeated labeling using multiple noisy labelers", Data Mining and Knowledge Discovery 28).

The stopping confidence is the smallest on a grid whose simulated accuracy reaches the target;
the answer is the judgments, expert-hours and dollars that rule spends, each with an interval
over the simulations (which vary the trainers drawn and their answers; the reliabilities
themselves are taken as known, so the interval is narrower than the truth when they rest on
little evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Forecast", "forecast_adaptive"]

SAMPLE_ITEMS = 2000  # items simulated; totals are scaled to n_items (a wider, not narrower, interval)
_GRID = (0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class Forecast:
    reached: bool                 # whether some stopping rule reaches the target within max_overlap
    stop_confidence: float        # the stopping confidence chosen
    accuracy: tuple[float, float, float]      # simulated accuracy: 5th, 50th, 95th percentile
    judgments: tuple[float, float, float]     # judgments for the remaining items
    hours: tuple[float, float, float]         # expert-hours
    dollars: tuple[float, float, float]
    mean_overlap: float


def forecast_adaptive(reliability: Any, share: Any, seconds: Any, hourly_rate: Any, *, n_items: int,
                      n_classes: int, target_accuracy: float, min_overlap: int = 1, max_overlap: int = 5,
                      n_sims: int = 200, random_state: int | np.random.Generator | None = 0) -> Forecast:
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

    return Forecast(reached=bool(np.median(acc) >= target_accuracy), stop_confidence=float(stop),
                    accuracy=q(acc), judgments=q(judg, scale), hours=q(hours, scale), dollars=q(cost, scale),
                    mean_overlap=float(judg.mean() / m))
