"""Bayesian Dawid-Skene with a community prior: the consensus for sparse overlap.

Expert judgments are bought one to three per item. There, plain Dawid-Skene
(maximum likelihood) is unreliable: a trainer seen on a handful of items gets a
confusion matrix fitted to noise, and with one judgment per item EM explains
every item by its own judgment and reports certainty. This estimator keeps the
Dawid-Skene model and puts priors on its parameters:

* each trainer's confusion rows are drawn around a **community** confusion
  matrix pooled over all trainers, ``C_t[k, :] ~ Dirichlet(s * M[k, :])``
  (Venanzi, Guiver, Kazai, Kohli & Shokouhi 2014, "Community-based Bayesian
  aggregation models for crowdsourcing", WWW; one community here), and the
  community matrix itself has a weak prior favouring the diagonal (Paun,
  Carpenter, Chamberlain, Hovy, Kruschwitz & Poesio 2018, "Comparing Bayesian
  models of annotation", TACL 6: hierarchical Dawid-Skene with Dirichlet
  priors does best when trainers label few items);
* the class prior is Dirichlet, centred on the judgments' label shares;
* only items that carry evidence about the trainers -- two or more judgments,
  or gold -- feed the confusion estimates. An item's lone judgment says nothing
  about its trainer's accuracy (it can only agree with itself), so it cannot
  inflate it: with one judgment per item and no gold every trainer keeps the
  prior, and the reported confidence of a judgment is the prior accuracy, not 1.

Gold items are clamped to their known label, so they are certain evidence about
the trainers who judged them (a trainer wrong on gold loses weight everywhere).

Fitted by EM on the posterior mode of the hyper-parameters and posterior-mean
confusions (the plug-in that gives the posterior predictive of one judgment),
vectorised like :class:`DawidSkene` through :class:`SparseDesign`.

Decision rule. The consensus label of an item is the most probable class **among
the labels its trainers gave** (gold items take their gold label): a consensus
is never a verdict nobody gave. ``probas_`` is the full posterior over all
classes, unrenormalised; ``confidence_`` is the posterior of the chosen label,
which can be below 0.5 when the evidence points to a class nobody chose (for
instance one judgment from a trainer whom gold shows to be unreliable): such an
item keeps its trainer's answer, with that low confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ._base import CategoricalAggregator, SparseDesign, clamp_gold, normalise_log_rows, vote_counts
from ._validation import IntArray
from .encode import EncodedLabels

__all__ = ["BayesianDawidSkene"]

FloatArray = npt.NDArray[np.float64]

# log Bayes factor above which evidence is "very strong" (2 ln BF > 10; Kass & Raftery 1995)
_VERY_STRONG = 5.0
# fixed-point steps of the reported posterior (it settles within about ten)
_REPORT_STEPS = 20
_TINY = 1e-12


class BayesianDawidSkene(CategoricalAggregator):
    """Dawid-Skene with Dirichlet priors pooled across trainers (see the module docstring).

    Parameters
    ----------
    prior_strength : float, default 1.0
        ``s``: pseudo-judgments per true class that tie each trainer's confusion
        rows to the community's. Larger pools more (trainers look alike).
    prior_accuracy : float, default 0.7
        Diagonal of the community matrix's own prior: what a trainer is assumed
        to get right before any overlap or gold says otherwise (errors spread
        evenly over the other classes). It is the confidence reported for a
        lone judgment of a balanced class when nothing else is known.
    community_strength : float, default 30.0
        Pseudo-judgments behind that prior per true class. Weaker, and a class
        that few items carry can drift to "everyone answers the other class",
        e.g. when one trainer's random answers are the only ones naming it.
    class_prior_anchor : float, default 1.0
        Weight, in items, of the Dirichlet prior that centres the class prior on
        the judgments' label shares (1.0: as much as the posteriors themselves).
        Keeps EM out of the degenerate mode where one class absorbs everything
        and the trainers who name the other are explained as confused.
    select_class_prior : bool, default True
        Choose between that anchored class prior and a free one (Laplace only)
        by their Bayes factor, approximated with the Bayesian information
        criterion (Schwarz 1978, "Estimating the dimension of a model", Annals
        of Statistics 6(2)): EM is continued from the anchored fit with the
        anchor removed, and the free fit is kept only if the judgments'
        log-likelihood gain, less ``(K - 1) / 2 * log(n_items)`` for the K - 1
        parameters the anchor had pinned, is "very strong" evidence
        (``2 ln BF > 10``; Kass & Raftery 1995, "Bayes factors", JASA 90).
        Weaker evidence is not enough because a free class prior can land in
        the degenerate mode described above, which on a small set gains a few
        nats by chance. A class prior that the judgments clearly contradict
        (a rare class that many trainers name more often than it occurs, in
        agreement-rich data) is freed. Uses judgments only, and only when
        some item has two or more judgments or gold: without overlap the
        class prior and the confusions cannot be told apart.
    error_correlation : float in [0, 1], default 0.2
        ``rho``: how strongly trainers' errors on the same item go together (a
        hard item misleads several of them alike), which the conditional
        independence of Dawid-Skene ignores, so its posteriors are too sure once
        judgments agree. The reported posterior weighs an item's ``n``
        judgments as ``n / (1 + (n - 1) rho)`` independent ones (Kish's design
        effect; Kish 1965, *Survey Sampling*): one judgment keeps its full
        weight, agreement counts for less. Applied to the final posterior only;
        the trainers' confusions are fitted with independent judgments. 0 gives
        plain Dawid-Skene posteriors. With labels alone the correlation cannot
        be estimated (agreeing on a wrong answer looks like agreeing on the
        right one); 0.2 is a moderate default, measured on the benchmark sets.
        Gold can estimate it: see ``gold_calibration``.
    consistent_confidence : bool, default True
        Report a posterior that is consistent with that design effect and does not
        count a judgment as evidence for itself. EM fits the confusions on
        untempered posteriors, and each item's own judgments sit in the confusions
        that then judge it, so agreement is explained as accuracy twice over and
        the posterior is too sure. The reported posterior (``probas_``,
        ``confidence_``) is instead the fixed point of: confusions refitted on the
        tempered posteriors; each item's posterior from its trainers' confusions
        with that judgment's own expected count left out (the cavity, or
        leave-one-out, predictive of expectation propagation; Minka 2001, "A
        family of algorithms for approximate Bayesian inference", MIT; Vehtari,
        Gelman & Gabry 2017, "Practical Bayesian model evaluation using
        leave-one-out cross-validation", Statistics and Computing 27), tempered by
        the design effect. The consensus label is still chosen on the untempered
        fit (``fit_probas_``), which is the more accurate decision on the
        benchmark sets; only the stated confidence changes, so the label's
        confidence can fall below 0.5 on items the evidence leaves in doubt.
        Without overlap or gold (nothing to refit) both are the same. When ``rho``
        is fitted on gold (``gold_calibration``) the gold has calibrated the plain
        posterior directly, so it is reported as it is.
    gold_calibration : int, default 30
        With at least this many gold items judged twice or more, ``rho`` is
        instead chosen on gold (0, 0.05, ..., 1): the value under which those
        items' posteriors, computed without their gold label and with each
        judgment's own count left out of its trainer's confusion, give the gold
        labels the highest likelihood. 0 never does.
    max_iter : int, default 100
    tol : float, default 1e-6
        Stop when the mean per-judgment log-likelihood changes by less than this.
    credible_level : float, default 0.95
        Level of ``reliability_interval_``.

    Attributes
    ----------
    item_ids_, classes_, trainer_ids_ : as in :class:`DawidSkene`.
    probas_ : (n_items, K) reported posterior over all classes (gold rows one-hot);
        see ``consistent_confidence``.
    fit_probas_ : (n_items, K) posterior of the EM fit, on which ``labels_`` is decided.
    labels_ : consensus label per item, restricted to the labels given for it.
    confidence_ : (n_items,) posterior of ``labels_``.
    n_judgments_per_item_ : (n_items,) judgments behind each item.
    confusions_ : (n_trainers, K, K) posterior-mean ``[t, true, observed]``.
    confusion_alpha_ : (n_trainers, K, K) Dirichlet posterior parameters of each row.
    community_confusion_ : (K, K) the pooled confusion matrix.
    class_prior_ : (K,)
    reliability_ : (n_trainers,) posterior mean accuracy, ``sum_k prior_k C_t[k, k]``.
    reliability_interval_ : (n_trainers, 2) equal-tailed credible interval of it.
    n_judgments_ : (n_trainers,) judgments per trainer; ``n_evidence_`` how many
        of them sit on items with other judgments or gold (what the estimate rests on).
    class_prior_selected_ : ``"anchored"`` or ``"free"``, the class prior kept.
    error_correlation_ : float, the ``rho`` used (fitted on gold or the parameter).
    n_iter_, log_likelihood_ : EM iterations run; final mean log-likelihood per judgment.
    """

    def __init__(
        self,
        prior_strength: float = 1.0,
        prior_accuracy: float = 0.7,
        community_strength: float = 30.0,
        class_prior_anchor: float = 1.0,
        select_class_prior: bool = True,
        error_correlation: float = 0.2,
        gold_calibration: int = 30,
        consistent_confidence: bool = True,
        max_iter: int = 100,
        tol: float = 1e-6,
        credible_level: float = 0.95,
    ) -> None:
        self.prior_strength = prior_strength
        self.prior_accuracy = prior_accuracy
        self.community_strength = community_strength
        self.class_prior_anchor = class_prior_anchor
        self.select_class_prior = select_class_prior
        self.error_correlation = error_correlation
        self.gold_calibration = gold_calibration
        self.consistent_confidence = consistent_confidence
        self.max_iter = max_iter
        self.tol = tol
        self.credible_level = credible_level

    def _check_params(self) -> None:
        if not float(self.prior_strength) > 0:
            raise ValueError(f"prior_strength must be > 0, got {self.prior_strength}")
        if not 0.0 < float(self.prior_accuracy) < 1.0:
            raise ValueError(f"prior_accuracy must be in (0, 1), got {self.prior_accuracy}")
        if not float(self.community_strength) > 0:
            raise ValueError(f"community_strength must be > 0, got {self.community_strength}")
        if float(self.class_prior_anchor) < 0:
            raise ValueError(f"class_prior_anchor must be >= 0, got {self.class_prior_anchor}")
        if not 0.0 <= float(self.error_correlation) <= 1.0:
            raise ValueError(f"error_correlation must be in [0, 1], got {self.error_correlation}")
        if int(self.gold_calibration) < 0:
            raise ValueError(f"gold_calibration must be >= 0, got {self.gold_calibration}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if not 0.0 < float(self.credible_level) < 1.0:
            raise ValueError(f"credible_level must be in (0, 1), got {self.credible_level}")

    def fit(self, items: Any, trainers: Any, labels: Any, gold: Any = None) -> BayesianDawidSkene:
        """Fit on aligned arrays of item ids, trainer ids and labels; return self."""
        self._check_params()
        super().fit(items, trainers, labels, gold=gold)
        return self

    # -- the model ----------------------------------------------------------------------------
    def _fit_encoded(self, data: EncodedLabels) -> FloatArray:
        k, n_t, n = data.n_classes, data.n_trainers, data.n_items
        votes = vote_counts(data)
        shares = votes / votes.sum(axis=1, keepdims=True)
        probas = clamp_gold(shares.copy(), data)
        self._given = votes > 0
        if data.gold_items.size:  # a gold item's answer is its gold label
            self._given[data.gold_items] = False
            self._given[data.gold_items, data.gold_labels] = True
        per_item = np.bincount(data.items, minlength=n)
        self.n_judgments_per_item_ = per_item
        evidence = per_item > 1
        evidence[data.gold_items] = True
        self.n_judgments_ = np.bincount(data.trainers, minlength=n_t)
        self.n_evidence_ = np.bincount(data.trainers, weights=evidence[data.items], minlength=n_t).astype(np.int64)
        if k < 2:  # one class seen: nothing to infer, every trainer agrees with it
            alpha = np.ones((n_t, k, k))
            self.class_prior_ = np.ones(k)
            self.community_confusion_ = np.ones((k, k))
            self._finish(alpha, 0, 0.0)
            self.fit_probas_ = probas
            return probas

        a0 = float(self.prior_accuracy)
        hyper = np.full((k, k), (1.0 - a0) / (k - 1))
        np.fill_diagonal(hyper, a0)
        hyper *= float(self.community_strength)
        s = float(self.prior_strength)
        class_anchor = float(self.class_prior_anchor) * shares.sum(axis=0) + 1.0

        design = SparseDesign(data)
        evidence_rows = evidence[:, None].astype(np.float64)
        probas, ll, n_iter = self._em(design, data, probas, evidence_rows, hyper, s, class_anchor)
        self.class_prior_selected_ = "anchored" if float(self.class_prior_anchor) > 0 else "free"
        if self.select_class_prior and float(self.class_prior_anchor) > 0 and evidence.any():
            # BIC (Schwarz 1978) approximation of the log Bayes factor, free against anchored: the
            # likelihood gain less (K - 1) / 2 * log(n_items) for the K - 1 freed parameters; the
            # free prior must win by "very strong" evidence (2 ln BF > 10, Kass & Raftery 1995)
            anchored = (probas, ll, n_iter, self.class_prior_)
            free, ll_free, it_free = self._em(design, data, probas, evidence_rows, hyper, s, np.ones(k))
            if (ll_free - ll) * design.n_labels - 0.5 * (k - 1) * np.log(n) > _VERY_STRONG:
                probas, ll, n_iter = free, ll_free, n_iter + it_free
                self.class_prior_selected_ = "free"
            else:
                probas, ll, n_iter, self.class_prior_ = anchored
        alpha, log_conf = self._m_step(design, data, probas * evidence_rows, hyper, s)
        self._finish(alpha, n_iter, ll)
        rho = float(self.error_correlation)
        judged_gold = data.gold_items[per_item[data.gold_items] > 1]
        from_gold = bool(self.gold_calibration) and judged_gold.size >= int(self.gold_calibration)
        if from_gold:
            rho = self._rho_from_gold(data, alpha, per_item, judged_gold)
        self.error_correlation_ = rho
        if rho > 0:
            # Kish's design effect: n judgments whose errors correlate by rho weigh n / (1 + (n - 1) rho)
            joint = design.A @ log_conf
            joint *= (1.0 / (1.0 + (per_item - 1) * rho))[:, None]
            joint += np.log(self.class_prior_)
            probas, _ = normalise_log_rows(joint, data)
        self.fit_probas_ = probas
        if self.consistent_confidence and evidence.any() and not from_gold:
            # a rho fitted on gold already calibrates this posterior against the truth
            probas = self._reported_posterior(design, data, probas, evidence_rows, hyper, s, per_item, rho)
        return probas

    def _reported_posterior(
        self,
        design: SparseDesign,
        data: EncodedLabels,
        probas: FloatArray,
        evidence_rows: FloatArray,
        hyper: FloatArray,
        s: float,
        per_item: IntArray,
        rho: float,
    ) -> FloatArray:
        """The posterior reported as confidence: design effect throughout, each judgment left out.

        Fixed point of: confusions refitted on the tempered posteriors, then every item's posterior
        from its trainers' confusions with that judgment's own expected count removed (the
        cavity, or leave-one-out, predictive), tempered by the design effect. The decision keeps
        the untempered fit (``fit_probas_``); this only changes how sure it says it is."""
        k, n = data.n_classes, data.n_items
        scale = (1.0 / (1.0 + (per_item - 1) * rho))[:, None]
        log_prior = np.log(self.class_prior_)
        community = self.community_confusion_
        rows = np.arange(data.items.size)
        reported = probas
        for _ in range(_REPORT_STEPS):
            weighted = reported * evidence_rows
            alpha, _ = self._m_step(design, data, weighted, hyper, s)
            own = weighted[data.items]  # each judgment's expected count in its trainer's rows
            num = alpha[data.trainers, :, data.labels] - own
            den = alpha[data.trainers].sum(axis=2) - own
            log_c = np.log(np.maximum(num, _TINY) / np.maximum(den, _TINY))
            joint = np.zeros((n, k))
            for j in range(k):
                joint[:, j] = np.bincount(data.items, weights=log_c[rows, j], minlength=n)
            joint *= scale
            joint += log_prior
            new, _ = normalise_log_rows(joint, data)
            change = float(np.abs(new - reported).max())
            reported = new
            if change < 1e-4:
                break
        self.community_confusion_ = community
        return reported

    def _em(
        self,
        design: SparseDesign,
        data: EncodedLabels,
        probas: FloatArray,
        evidence_rows: FloatArray,
        hyper: FloatArray,
        s: float,
        class_anchor: FloatArray,
    ) -> tuple[FloatArray, float, int]:
        """EM from ``probas``: posteriors, mean log-likelihood per judgment, iterations run."""
        prev = -np.inf
        ll = -np.inf
        n_iter = 0
        for step in range(1, int(self.max_iter) + 1):
            n_iter = step
            _, log_conf = self._m_step(design, data, probas * evidence_rows, hyper, s)
            prior = class_anchor + probas.sum(axis=0)
            self.class_prior_ = prior / prior.sum()
            probas, ll = normalise_log_rows(design.log_joint(log_conf, np.log(self.class_prior_)), data)
            ll /= design.n_labels
            if abs(ll - prev) < float(self.tol):
                break
            prev = ll
        return probas, ll, n_iter

    def _rho_from_gold(
        self, data: EncodedLabels, alpha: FloatArray, per_item: IntArray, judged_gold: IntArray
    ) -> float:
        """The error correlation under which gold items' posteriors best predict their gold labels.

        Each gold item's posterior is computed without clamping, from confusions with that
        judgment's own gold count left out, and scored by the log-probability of the gold label;
        the best of 0, 0.05, ..., 1 wins."""
        k, n = data.n_classes, data.n_items
        truth = np.full(n, -1, dtype=np.intp)
        truth[data.gold_items] = data.gold_labels
        chosen = np.zeros(n, dtype=bool)
        chosen[judged_gold] = True
        sel = chosen[data.items]
        items, trainers, labels = data.items[sel], data.trainers[sel], data.labels[sel]
        rows = np.arange(items.size)
        gold = truth[items]
        num = alpha[trainers, :, labels]  # (m, K): alpha[t, true, observed]
        den = alpha[trainers].sum(axis=2)
        num[rows, gold] -= 1.0  # leave this judgment's own count out
        den[rows, gold] -= 1.0
        log_c = np.log(np.maximum(num, 1e-12) / np.maximum(den, 1e-12))
        codes, inv = np.unique(items, return_inverse=True)
        sums = np.stack([np.bincount(inv, weights=log_c[:, j], minlength=codes.size) for j in range(k)], axis=1)
        n_i = per_item[codes].astype(np.float64)
        target = truth[codes]
        log_prior = np.log(self.class_prior_)
        best, best_ll = 0.0, -np.inf
        for rho in np.linspace(0.0, 1.0, 21):
            lj = sums / (1.0 + (n_i - 1.0) * rho)[:, None] + log_prior
            lj -= np.logaddexp.reduce(lj, axis=1, keepdims=True)
            score = float(lj[np.arange(codes.size), target].sum())
            if score > best_ll + 1e-12:
                best, best_ll = round(float(rho), 2), score
        return best

    def _m_step(
        self, design: SparseDesign, data: EncodedLabels, weighted: FloatArray, hyper: FloatArray, s: float
    ) -> tuple[FloatArray, FloatArray]:
        """Dirichlet posteriors of every confusion row and the log of their means (E-step table)."""
        k, n_t = data.n_classes, data.n_trainers
        counts = design.expected_counts(weighted).reshape(n_t, k, k).transpose(0, 2, 1)  # [t, true, obs]
        community = hyper + counts.sum(axis=0)
        community /= community.sum(axis=1, keepdims=True)
        self.community_confusion_ = community
        alpha = counts + s * community[None]
        mean = alpha / alpha.sum(axis=2, keepdims=True)
        log_conf = np.log(mean).transpose(0, 2, 1).reshape(n_t * k, k)
        return alpha, log_conf

    def _finish(self, alpha: FloatArray, n_iter: int, ll: float) -> None:
        self.n_iter_ = n_iter
        self.log_likelihood_ = ll
        self.confusion_alpha_ = alpha
        total = alpha.sum(axis=2)  # (T, K)
        self.confusions_ = alpha / total[:, :, None]
        diag = np.einsum("tkk->tk", alpha)
        mean_kk = diag / total
        var_kk = mean_kk * (1.0 - mean_kk) / (total + 1.0)
        prior = self.class_prior_
        self.reliability_ = mean_kk @ prior
        var = var_kk @ (prior**2)
        self.reliability_interval_ = _beta_interval(self.reliability_, var, float(self.credible_level))

    def _decide(self, probas: FloatArray) -> npt.NDArray[np.intp]:
        given = self._given
        del self._given
        decision = getattr(self, "fit_probas_", probas)
        masked = np.where(given, decision, -1.0)
        codes = np.asarray(np.argmax(masked, axis=1), dtype=np.intp)
        self.confidence_ = probas[np.arange(probas.shape[0]), codes]
        return codes


def _beta_interval(mean: FloatArray, var: FloatArray, level: float) -> FloatArray:
    """Equal-tailed interval of the Beta distribution with the given mean and variance."""
    m = np.clip(mean, 1e-9, 1 - 1e-9)
    v = np.clip(var, 1e-15, m * (1 - m) * (1 - 1e-9))
    nu = m * (1 - m) / v - 1.0
    a, b = m * nu, (1 - m) * nu
    tail = (1.0 - level) / 2.0
    lo = stats.beta.ppf(tail, a, b)
    hi = stats.beta.ppf(1.0 - tail, a, b)
    return np.column_stack([lo, hi]).astype(np.float64)
