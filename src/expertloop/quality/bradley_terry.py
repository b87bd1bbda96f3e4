"""Latent item strengths from pairwise preferences (Bradley-Terry, Crowd-BT)."""

from __future__ import annotations

from typing import Any, NamedTuple, Self

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from ._validation import Array, FloatArray, IntArray, as_1d, check_same_length, params_repr
from .encode import _concat, factorize, lookup

__all__ = ["BradleyTerry", "CrowdBT", "Pairs", "rankings_to_pairs"]


class Pairs(NamedTuple):
    """Pairwise comparisons expanded from rankings; ``rankings[j]`` is the source ranking."""

    winners: np.ndarray
    losers: np.ndarray
    rankings: np.ndarray


def rankings_to_pairs(rankings: Any) -> Pairs:
    """Expand rankings (each a sequence of item ids, best first) into all implied pairs.

    A ranking of m items yields m(m-1)/2 pairs, winner = the item ranked higher.
    Use ``Pairs.rankings`` to carry a per-ranking attribute (e.g. the trainer)
    over to the pairs: ``np.asarray(trainers)[pairs.rankings]``.
    """
    winners: list[Array] = []
    losers: list[Array] = []
    source: list[IntArray] = []
    triu: dict[int, tuple[IntArray, IntArray]] = {}
    for j, ranking in enumerate(rankings):
        r = as_1d(ranking, "ranking")
        m = len(r)
        if m < 2:
            continue
        if m not in triu:
            triu[m] = np.triu_indices(m, 1)
        hi, lo = triu[m]
        winners.append(r[hi])
        losers.append(r[lo])
        source.append(np.full(hi.size, j, dtype=np.intp))
    if not winners:
        empty = np.zeros(0, dtype=object)
        return Pairs(empty, empty, np.zeros(0, dtype=np.intp))
    out_w, out_l = winners[0], losers[0]
    for a, b in zip(winners[1:], losers[1:], strict=False):
        out_w, out_l = _concat(out_w, a), _concat(out_l, b)
    return Pairs(out_w, out_l, np.concatenate(source))


def _encode_pairs(winners: Any, losers: Any, ties: Any) -> tuple[Array, IntArray, IntArray, Array]:
    winners, losers = as_1d(winners, "winners"), as_1d(losers, "losers")
    n = check_same_length(winners=winners, losers=losers)
    if n == 0:
        raise ValueError("no comparisons given")
    item_ids, codes = factorize(_concat(winners, losers))
    tie = np.zeros(n, dtype=bool) if ties is None else np.asarray(ties, dtype=bool)
    check_same_length(winners=winners, ties=tie)
    return item_ids, codes[:n], codes[n:], tie


def _bt_solve(
    w: IntArray, lose: IntArray, tie: Array, n: int, alpha: float, max_iter: int, tol: float
) -> tuple[FloatArray, float, int]:
    """MAP Bradley-Terry (Davidson ties) on integer codes; returns (scores, nu, n_iter)."""
    has_ties = bool(tie.any())
    m = w.size

    def objective(x: FloatArray) -> tuple[float, FloatArray]:
        s = x[:n]
        h = 0.5 * (s[w] - s[lose])
        if has_ties:
            theta = x[n]
            lse = np.logaddexp(np.logaddexp(h, -h), theta)
            p_w, p_l, p_t = np.exp(h - lse), np.exp(-h - lse), np.exp(theta - lse)
            logp = np.where(tie, theta, h) - lse
            dh = np.where(tie, 0.0, 1.0) - (p_w - p_l)
            d_theta = -(np.where(tie, 1.0, 0.0) - p_t).sum()
        else:  # plain BT: log P = -log(1 + exp(-2h))
            logp = -np.logaddexp(0.0, -2.0 * h)
            dh = 2.0 * expit(-2.0 * h)
        f = -logp.sum() + 0.5 * alpha * np.dot(s, s)
        g = 0.5 * (np.bincount(lose, weights=dh, minlength=n) - np.bincount(w, weights=dh, minlength=n))
        g += alpha * s
        if has_ties:
            return float(f), np.asarray(np.append(g, d_theta), dtype=np.float64)
        return float(f), np.asarray(g, dtype=np.float64)

    x0 = np.zeros(n + 1) if has_ties else np.zeros(n)
    if has_ties:
        x0[n] = np.log(max(tie.mean(), 1e-3))
    res = minimize(objective, x0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol * max(m, 1) / max(n, 1), "ftol": 1e-12})
    s = res.x[:n]
    nu = float(np.exp(res.x[n])) if has_ties else 0.0
    scores: FloatArray = s - s.mean()
    return scores, nu, int(res.nit)


class BradleyTerry:
    """Bradley-Terry model: P(i beats j) = sigmoid(s_i - s_j), s = log-strength.

    Bradley, R. A. & Terry, M. E. (1952). Rank analysis of incomplete block
    designs. *Biometrika* 39, 324-345. Ties follow Davidson, R. R. (1970). On
    extending the Bradley-Terry model to accommodate ties in paired comparison
    experiments. *JASA* 65, 317-328:
    P(i beats j) = pi_i / D, P(tie) = nu * sqrt(pi_i pi_j) / D.

    Maximum a posteriori estimate with a Gaussian prior ``s ~ N(0, 1/alpha)``
    (an L2 penalty ``alpha/2 * ||s||^2``) so that items that never lost (or
    never won) still get finite scores. The negative log-posterior is convex;
    it is minimised by L-BFGS-B with an analytic gradient accumulated with
    ``np.bincount``.

    Parameters
    ----------
    alpha : float, default 0.01
        L2 penalty on log-strengths. Must be > 0 unless the comparison graph is
        strongly connected.
    max_iter : int, default 500
    tol : float, default 1e-9
        Gradient tolerance (``gtol``) for L-BFGS-B, relative to the number of comparisons.

    Attributes
    ----------
    item_ids_ : (n_items,) every item seen among winners and losers.
    scores_ : (n_items,) centred log-strengths, aligned with ``item_ids_``.
    tie_strength_ : Davidson's ``nu`` (0.0 when no ties were given).
    n_iter_ : optimiser iterations.
    """

    def __init__(self, alpha: float = 0.01, max_iter: int = 500, tol: float = 1e-9) -> None:
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def __repr__(self) -> str:
        return params_repr(self)

    def fit(self, winners: Any, losers: Any, ties: Any = None) -> Self:
        """Fit on aligned arrays of winning and losing item ids.

        ``ties`` is an optional boolean mask: rows where the pair tied (the two
        items are then given in either order).
        """
        self.item_ids_, w, lose, tie = _encode_pairs(winners, losers, ties)
        s, nu, nit = _bt_solve(w, lose, tie, len(self.item_ids_), float(self.alpha),
                               int(self.max_iter), float(self.tol))
        self.scores_ = s
        self.tie_strength_ = nu
        self.n_iter_ = nit
        return self

    def predict_proba(self, items_a: Any, items_b: Any) -> FloatArray:
        """P(a beats b) for aligned arrays of fitted item ids (ties take the rest)."""
        a = lookup(self.item_ids_, items_a)
        b = lookup(self.item_ids_, items_b)
        if (a < 0).any() or (b < 0).any():
            raise KeyError("unknown item id")
        h = 0.5 * (self.scores_[a] - self.scores_[b])
        proba: FloatArray = np.exp(h) / (np.exp(h) + np.exp(-h) + self.tie_strength_)
        return proba


class CrowdBT:
    """Bradley-Terry with a per-trainer reliability (Crowd-BT).

    Chen, X., Bennett, P. N., Collins-Thompson, K. & Horvitz, E. (2013).
    Pairwise ranking aggregation in a crowdsourced setting. *WSDM 2013*, 193-202.

    Trainer t reports the true order with probability ``eta_t`` and the reverse
    otherwise: P(t says i > j) = eta_t * sigmoid(s_i - s_j) + (1 - eta_t) *
    sigmoid(s_j - s_i). Careless trainers (eta near 0.5) then carry little
    weight and adversarial ones (eta < 0.5) count in reverse.

    MAP estimate by L-BFGS-B over (s, logit eta) with the L2 penalty ``alpha``
    on s and a Beta(``reliability_prior``) prior on each eta, started from a
    plain :class:`BradleyTerry` fit (which also fixes the otherwise arbitrary
    global sign). A tie counts as half a win each way.

    Parameters
    ----------
    alpha : float, default 0.01
        L2 penalty on log-strengths, as in :class:`BradleyTerry`.
    reliability_prior : (a, b), default (2.0, 1.0)
        Beta prior on each trainer's reliability; the default leans gently
        towards "mostly right" (mean 2/3) and is outweighed by a few dozen
        comparisons.
    max_iter : int, default 500
    tol : float, default 1e-8
        Relative change of the objective at which L-BFGS-B stops (``ftol``).

    Attributes
    ----------
    item_ids_, scores_ : as in :class:`BradleyTerry`.
    trainer_ids_ : (n_trainers,) trainers seen.
    reliabilities_ : (n_trainers,) eta per trainer: P(trainer agrees with the true order).
    n_iter_ : optimiser iterations.
    """

    def __init__(
        self, alpha: float = 0.01, reliability_prior: tuple[float, float] = (2.0, 1.0), max_iter: int = 500,
        tol: float = 1e-8,
    ) -> None:
        self.alpha = alpha
        self.reliability_prior = reliability_prior
        self.max_iter = max_iter
        self.tol = tol

    def __repr__(self) -> str:
        return params_repr(self)

    def fit(self, winners: Any, losers: Any, trainers: Any, ties: Any = None) -> Self:
        """Fit on aligned arrays of winners, losers and the trainer who judged each pair."""
        item_ids, w, lose, tie = _encode_pairs(winners, losers, ties)
        trainers = as_1d(trainers, "trainers")
        check_same_length(winners=w, trainers=trainers)
        self.trainer_ids_, tr = factorize(trainers)
        n, n_t = len(item_ids), len(self.trainer_ids_)
        # a tie is half a win each way
        weight = np.where(tie, 0.5, 1.0)
        if tie.any():
            w, lose = np.concatenate([w, lose[tie]]), np.concatenate([lose, w[tie]])
            tr, weight = np.concatenate([tr, tr[tie]]), np.concatenate([weight, np.full(tie.sum(), 0.5)])
        s0, _, _ = _bt_solve(w, lose, np.zeros(w.size, dtype=bool), n, float(self.alpha), 500, 1e-9)
        agree = np.bincount(tr, weights=weight * (s0[w] > s0[lose]), minlength=n_t)
        total = np.bincount(tr, weights=weight, minlength=n_t)
        eta0 = np.clip((agree + 1.0) / (total + 2.0), 0.05, 0.95)
        a_prior, b_prior = self.reliability_prior
        alpha = float(self.alpha)

        def objective(x: FloatArray) -> tuple[float, FloatArray]:
            s, u = x[:n], x[n:]
            eta = expit(u)
            e = eta[tr]
            p = expit(s[w] - s[lose])
            lik = (1.0 - e) + (2.0 * e - 1.0) * p
            lik = np.maximum(lik, 1e-300)
            f = -np.dot(weight, np.log(lik)) + 0.5 * alpha * np.dot(s, s)
            f -= ((a_prior - 1.0) * np.log(eta) + (b_prior - 1.0) * np.log1p(-eta)).sum()
            dd = weight * (2.0 * e - 1.0) * p * (1.0 - p) / lik
            g_s = np.asarray(np.bincount(lose, weights=dd, minlength=n) - np.bincount(w, weights=dd, minlength=n),
                             dtype=np.float64)
            g_s += alpha * s
            du = np.bincount(tr, weights=weight * (2.0 * p - 1.0) / lik, minlength=n_t) * eta * (1.0 - eta)
            g_u = -du - ((a_prior - 1.0) * (1.0 - eta) - (b_prior - 1.0) * eta)
            return f, np.concatenate([g_s, g_u])

        x0 = np.concatenate([s0, np.log(eta0 / (1.0 - eta0))])
        res = minimize(objective, x0, jac=True, method="L-BFGS-B",
                       options={"maxiter": int(self.max_iter), "ftol": self.tol, "gtol": 1e-8 * w.size})
        s = res.x[:n]
        self.item_ids_ = item_ids
        self.scores_ = s - s.mean()
        self.reliabilities_ = expit(res.x[n:])
        self.n_iter_ = int(res.nit)
        return self
