"""MACE: Multi-Annotator Competence Estimation."""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

from ._base import CategoricalAggregator, SparseDesign, clamp_gold, normalise_log_rows, soft_majority
from ._validation import FloatArray
from .encode import EncodedLabels

__all__ = ["MACE"]


class MACE(CategoricalAggregator):
    """MACE: each trainer either knows the answer or "spams" from a private distribution.

    Hovy, D., Berg-Kirkpatrick, T., Vaswani, A. & Hovy, E. (2013). Learning
    whom to trust with MACE. *NAACL-HLT 2013*, 1120-1130.

    For trainer t, with probability ``theta_t`` the answer is the true label;
    otherwise it is drawn from ``xi_t`` regardless of the item. That separates
    careless or adversarial trainers (low ``theta``, skewed ``xi``) from honest
    ones and works well when many trainers label few items each.

    Fitted by EM from a soft-majority-vote start (deterministic; the reference
    implementation uses random restarts instead). Unlike the paper, the class
    prior is estimated by default (``fit_prior``): with a uniform prior, class
    imbalance is easily explained away as everybody spamming the majority class.

    Parameters
    ----------
    method : "em" or "vb", default "em"
        "em": maximum a posteriori EM with ``smoothing`` pseudo-counts.
        "vb": variational Bayes with Beta(``alpha``, ``beta``) on spamming vs
        knowing and a symmetric Dirichlet(``spam_prior``) on ``xi`` (the paper's
        variational setting).
    max_iter : int, default 100
    tol : float, default 1e-6
        Stop when the mean per-judgment log-likelihood improves by less than this.
    fit_prior : bool, default True
        Estimate the class prior; ``False`` keeps it uniform as in the paper.
    alpha, beta : float, default 0.5, 0.5
        Beta prior pseudo-counts for spamming and knowing ("vb").
    spam_prior : float, default 10.0
        Dirichlet pseudo-count per class for ``xi`` ("vb").
    smoothing : float, default 0.01
        Pseudo-count added to all expected counts ("em") and to the class counts.

    Attributes
    ----------
    skills_ : (n_trainers,) ``theta_t``, probability the trainer answers from knowledge.
    spam_distributions_ : (n_trainers, K) ``xi_t``, the distribution used when not.
    class_prior_ : (K,) class prior (uniform when ``fit_prior=False``).
    n_iter_, log_likelihood_ : iterations run; final mean log-likelihood per judgment.

    Gold items (``fit(..., gold=...)``) are clamped to their known label at every
    E-step, which pins down who knows and who guesses.
    """

    def __init__(self, method: str = "em", max_iter: int = 100, tol: float = 1e-6, fit_prior: bool = True,
                 alpha: float = 0.5, beta: float = 0.5, spam_prior: float = 10.0, smoothing: float = 0.01) -> None:
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.alpha = alpha
        self.beta = beta
        self.spam_prior = spam_prior
        self.smoothing = smoothing
        self.fit_prior = fit_prior

    def _m_step(
        self, data: EncodedLabels, probas: FloatArray, know_p: FloatArray, spam_p: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Update (know_p, spam_p, xi) from posteriors; returns the log-confusion table."""
        k, n_t = data.n_classes, data.n_trainers
        tr, lab = data.trainers, data.labels
        q = probas[data.items, lab]
        xi_obs = self._xi_table()[tr, lab]
        kp = know_p[tr]
        # P(trainer answered from knowledge | data) for each judgment
        know = q * kp / (kp + spam_p[tr] * xi_obs)
        n_know = np.bincount(tr, weights=know, minlength=n_t)
        n_spam = self._n_per_trainer - n_know
        spam_counts = np.bincount(tr * k + lab, weights=1.0 - know, minlength=n_t * k).reshape(n_t, k)
        if self.method == "vb":
            total = digamma(self._n_per_trainer + self.alpha + self.beta)
            know_p = np.exp(digamma(n_know + self.beta) - total)
            spam_p = np.exp(digamma(n_spam + self.alpha) - total)
            xi = np.exp(digamma(spam_counts + self.spam_prior)
                        - digamma(spam_counts.sum(axis=1, keepdims=True) + k * self.spam_prior))
        elif self.method == "em":
            s = self.smoothing
            know_p = (n_know + s) / (self._n_per_trainer + 2 * s)
            spam_p = 1.0 - know_p
            xi = (spam_counts + s) / (spam_counts.sum(axis=1, keepdims=True) + k * s)
        else:
            raise ValueError(f"method must be 'vb' or 'em', got {self.method!r}")
        self._xi = xi
        return know_p, spam_p

    def _xi_table(self) -> FloatArray:
        xi: FloatArray = self._xi
        return xi

    def _log_conf(self, data: EncodedLabels, know_p: FloatArray, spam_p: FloatArray) -> FloatArray:
        k = data.n_classes
        # conf[t, obs, true] = know_p[t] * [obs == true] + spam_p[t] * xi[t, obs]
        conf = (spam_p[:, None] * self._xi_table())[:, :, None] + know_p[:, None, None] * np.eye(k)[None]
        return np.asarray(np.log(np.maximum(conf, 1e-300)).reshape(data.n_trainers * k, k), dtype=np.float64)

    def _fit_encoded(self, data: EncodedLabels) -> FloatArray:
        k, n_t = data.n_classes, data.n_trainers
        self._n_per_trainer = np.bincount(data.trainers, minlength=n_t).astype(np.float64)
        probas = clamp_gold(soft_majority(data), data)
        # neutral start for the M-step's per-judgment split
        self._xi = np.full((n_t, k), 1.0 / k)
        know_p, spam_p = np.full(n_t, 0.5), np.full(n_t, 0.5)
        log_prior = np.full(k, -np.log(k))
        ll, n_iter = -np.inf, 0
        if k >= 2:
            design = SparseDesign(data)
            know_p, spam_p = self._m_step(data, probas, know_p, spam_p)
            prev = -np.inf
            for step in range(1, int(self.max_iter) + 1):
                n_iter = step
                log_conf = self._log_conf(data, know_p, spam_p)
                probas, ll = normalise_log_rows(design.log_joint(log_conf, log_prior), data)
                ll /= design.n_labels
                if self.fit_prior:
                    prior = probas.sum(axis=0) + self.smoothing
                    log_prior = np.log(prior / prior.sum())
                know_p, spam_p = self._m_step(data, probas, know_p, spam_p)
                if ll - prev < self.tol:
                    break
                prev = ll
        self.class_prior_ = np.exp(log_prior)
        self.skills_ = know_p / (know_p + spam_p)
        self.spam_distributions_ = self._xi
        self.n_iter_, self.log_likelihood_ = n_iter, ll
        del self._xi, self._n_per_trainer
        return probas
