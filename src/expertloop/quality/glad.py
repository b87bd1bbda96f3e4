"""GLAD: trainer ability and item difficulty, jointly."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._base import CategoricalAggregator, clamp_gold, normalise_log_rows, soft_majority
from ._validation import FloatArray
from .encode import EncodedLabels

__all__ = ["GLAD"]


def _log_sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(-np.logaddexp(0.0, -z), dtype=np.float64)


class GLAD(CategoricalAggregator):
    """GLAD: P(correct) = sigmoid(ability_t * easiness_i); errors spread evenly.

    Whitehill, J., Ruvolo, P., Wu, T., Bergsma, J. & Movellan, J. (2009).
    Whose vote should count more: optimal integration of labels from labelers
    of unknown expertise. *NeurIPS 22*, 2035-2043.

    Unlike the Dawid-Skene family, an item can be hard for everyone: a miss on
    a hard item costs a trainer less than a miss on an easy one. Ability
    ``alpha_t`` is real (negative = adversarial); easiness is ``exp(gamma_i) > 0``.

    EM: the E-step gives posteriors over true labels (uniform class prior, as in
    the paper); the M-step runs up to ``m_step_max_iter`` sweeps of
    block-coordinate Newton steps (abilities, then easiness; gradients and
    curvatures via ``np.bincount``), warm-started from the previous estimates.
    Gaussian priors ``alpha ~ N(alpha_prior, 1)`` and ``gamma ~ N(gamma_prior, 1)``
    keep the problem well posed.

    Parameters
    ----------
    max_iter : int, default 100
    tol : float, default 1e-6
        Stop when the mean per-judgment log-likelihood improves by less than this.
    m_step_max_iter : int, default 5
        Newton sweeps per M-step.
    m_step_tol : float, default 1e-4
        End the M-step early once no log-easiness moves more than this.
    alpha_prior, gamma_prior : float, default 1.0, 1.0
        Prior means of trainer ability and log item easiness (both with unit variance).
    init : "majority" or "uniform", default "majority"
        Start the first M-step from soft majority vote posteriors, or start with
        an E-step at the prior means (as in the paper).

    Attributes
    ----------
    skills_ : (n_trainers,) ability ``alpha_t`` per entry of ``trainer_ids_``.
    easiness_ : (n_items,) ``exp(gamma_i)`` per entry of ``item_ids_`` (larger = easier).
    n_iter_, log_likelihood_ : iterations run; final mean log-likelihood per judgment.

    Gold items are clamped to their known label at every E-step.
    """

    def __init__(self, max_iter: int = 100, tol: float = 1e-6, m_step_max_iter: int = 5, m_step_tol: float = 1e-4,
                 alpha_prior: float = 1.0, gamma_prior: float = 1.0, init: str = "majority") -> None:
        self.max_iter = max_iter
        self.tol = tol
        self.m_step_max_iter = m_step_max_iter
        self.m_step_tol = m_step_tol
        self.alpha_prior = alpha_prior
        self.gamma_prior = gamma_prior
        self.init = init

    def _e_step(
        self, data: EncodedLabels, alpha: FloatArray, gamma: FloatArray, log_prior: FloatArray
    ) -> tuple[FloatArray, float]:
        k = data.n_classes
        z = alpha[data.trainers] * np.exp(gamma[data.items])
        # log P(obs | true) = log sig(z) if obs == true else log(1 - sig(z)) - log(K-1)
        base = _log_sigmoid(z) - z - np.log(k - 1)
        bonus = z + np.log(k - 1)  # log sig(z) - base
        logp = np.bincount(data.items * k + data.labels, weights=bonus,
                           minlength=data.n_items * k).reshape(data.n_items, k).astype(np.float64)
        logp += np.bincount(data.items, weights=base, minlength=data.n_items)[:, None]
        logp += log_prior
        return normalise_log_rows(logp, data)

    def _m_step(
        self, data: EncodedLabels, probas: FloatArray, alpha: FloatArray, gamma: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Block-coordinate Newton on the expected complete log-likelihood + priors.

        For fixed easiness the objective is concave in each ability (a logistic
        regression), so the ability step is an exact Newton step; the easiness
        step uses Fisher scoring (expected curvature, always positive) capped at
        1 in log space. Each sweep costs two passes over the judgments.
        """
        n_t, n_i = data.n_trainers, data.n_items
        tr, it = data.trainers, data.items
        q = probas[it, data.labels]  # P(answer is right)
        a0, g0 = self.alpha_prior, self.gamma_prior
        alpha, gamma = alpha.copy(), gamma.copy()
        for _ in range(int(self.m_step_max_iter)):
            b = np.exp(gamma)[it]
            sig = expit(alpha[tr] * b)
            w = sig * (1.0 - sig)
            grad = np.bincount(tr, weights=(q - sig) * b, minlength=n_t) - (alpha - a0)
            hess = np.bincount(tr, weights=w * b * b, minlength=n_t) + 1.0
            alpha += grad / hess
            z = alpha[tr] * b
            sig = expit(z)
            grad = np.bincount(it, weights=(q - sig) * z, minlength=n_i) - (gamma - g0)
            hess = np.bincount(it, weights=sig * (1.0 - sig) * z * z, minlength=n_i) + 1.0
            step = np.clip(grad / hess, -1.0, 1.0)
            gamma += step
            if np.abs(step).max() < self.m_step_tol:
                break
        return alpha, gamma

    def _fit_encoded(self, data: EncodedLabels) -> FloatArray:
        k = data.n_classes
        alpha = np.full(data.n_trainers, float(self.alpha_prior))
        gamma = np.full(data.n_items, float(self.gamma_prior))
        probas = clamp_gold(soft_majority(data), data)
        ll, n_iter = -np.inf, 0
        log_prior = np.full(k, -np.log(k))
        if k >= 2:
            if self.init == "majority":
                alpha, gamma = self._m_step(data, probas, alpha, gamma)
            elif self.init != "uniform":
                raise ValueError(f"init must be 'majority' or 'uniform', got {self.init!r}")
            prev = -np.inf
            for step in range(1, int(self.max_iter) + 1):
                n_iter = step
                probas, ll = self._e_step(data, alpha, gamma, log_prior)
                ll /= data.labels.size
                alpha, gamma = self._m_step(data, probas, alpha, gamma)
                if ll - prev < self.tol:
                    break
                prev = ll
        self.skills_ = alpha
        self.easiness_ = np.exp(gamma)
        self.n_iter_, self.log_likelihood_ = n_iter, ll
        return probas
