"""Shared plumbing for the categorical aggregators (fit/fit_predict, gold, results)."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy import sparse

from ._validation import Array, FloatArray, IntArray, params_repr
from .encode import EncodedLabels, encode_labels

_TINY = 1e-300


class CategoricalAggregator:
    """Base class: ``fit(items, trainers, labels, gold=None)`` on long-format judgments.

    After ``fit``: ``item_ids_``, ``labels_`` (aligned with ``item_ids_``),
    ``classes_``, ``probas_`` (n_items x n_classes, rows sum to 1) and
    ``trainer_ids_``. ``labels_`` is the arg-max of ``probas_``; exact ties go to
    the lowest class code, i.e. the first class in ``classes_``.

    ``gold`` (mapping item -> known label, or a pair of arrays) marks items whose
    true label is known: their posterior is clamped to the known label wherever
    the model computes one, so they anchor the trainers' reliability estimates,
    and they are reported with that label.
    """

    def __repr__(self) -> str:
        return params_repr(self)

    def fit(self, items: Any, trainers: Any, labels: Any, gold: Any = None) -> Self:
        """Fit on aligned arrays of item ids, trainer ids and labels; return self."""
        data = encode_labels(items, trainers, labels, gold=gold)
        probas = self._fit_encoded(data)
        self.item_ids_ = data.item_ids
        self.trainer_ids_ = data.trainer_ids
        self.classes_ = data.classes
        self.probas_ = probas
        self.labels_ = data.classes[self._decide(probas)]
        return self

    def fit_predict(self, items: Any, trainers: Any, labels: Any, gold: Any = None) -> Array:
        """Fit and return ``labels_`` (one label per entry of ``item_ids_``)."""
        labels_: Array = self.fit(items, trainers, labels, gold=gold).labels_
        return labels_

    # -- to be provided by subclasses -------------------------------------
    def _fit_encoded(self, data: EncodedLabels) -> FloatArray:  # pragma: no cover
        raise NotImplementedError

    def _decide(self, probas: FloatArray) -> IntArray:
        return np.asarray(np.argmax(probas, axis=1), dtype=np.intp)


def vote_counts(data: EncodedLabels, weights: Any = None) -> FloatArray:
    """(n_items x n_classes) sums of (weighted) votes."""
    k = data.n_classes
    counts = np.bincount(
        data.items * k + data.labels, weights=weights, minlength=data.n_items * k
    )
    return np.asarray(counts.reshape(data.n_items, k), dtype=np.float64)


def soft_majority(data: EncodedLabels) -> FloatArray:
    """Vote shares per item: the usual initialisation of EM aggregators."""
    counts = vote_counts(data)
    shares: FloatArray = counts / counts.sum(axis=1, keepdims=True)
    return shares


def clamp_gold(probas: FloatArray, data: EncodedLabels) -> FloatArray:
    """Set gold items' rows to the one-hot vector of their known label (in place)."""
    if data.gold_items.size:
        probas[data.gold_items] = 0.0
        probas[data.gold_items, data.gold_labels] = 1.0
    return probas


def _row_max(x: FloatArray) -> FloatArray:
    # column-by-column maximum: much faster than x.max(axis=1) for few columns
    m = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        np.maximum(m, x[:, j], out=m)
    return m


def normalise_log_rows(logp: FloatArray, data: EncodedLabels) -> tuple[FloatArray, float]:
    """Posterior rows from unnormalised log joints, in place; returns (posterior, log-lik).

    Gold rows contribute the joint of their known label to the log-likelihood and
    come back one-hot.
    """
    m = _row_max(logp)
    logp -= m[:, None]
    np.exp(logp, out=logp)
    z = logp @ np.ones(logp.shape[1])
    log_z = np.log(z)
    ll = float(log_z.sum() + m.sum())
    if data.gold_items.size:
        gold_lik = logp[data.gold_items, data.gold_labels] / z[data.gold_items]
        ll += float(np.log(np.maximum(gold_lik, _TINY)).sum())
    logp /= z[:, None]
    clamp_gold(logp, data)
    return logp, ll


class SparseDesign:
    """Judgments as a sparse (item x trainer*K + observed) count matrix.

    With it the E-step of a confusion-matrix model is one sparse-dense product
    ``A @ log_confusion`` and the M-step expected counts are ``A.T @ posterior``
    (a CSC view, which scatters into the small trainer table and needs no
    transposed copy). Repeated (item, trainer, label) triples simply add up.
    """

    def __init__(self, data: EncodedLabels) -> None:
        k = data.n_classes
        n = data.n_items
        idx_dtype = np.int32 if max(n, data.n_trainers * k, data.items.size) < 2**31 - 1 else np.int64
        cols = (data.trainers * k + data.labels).astype(idx_dtype)
        shape = (n, data.n_trainers * k)
        ones = np.ones(cols.size, dtype=np.float64)
        items = data.items
        if items.size < 2 or bool((items[1:] >= items[:-1]).all()):
            # already grouped by item: build CSR directly, no sort needed
            indptr = np.zeros(n + 1, dtype=idx_dtype)
            np.cumsum(np.bincount(items, minlength=n), out=indptr[1:])
            self.A = sparse.csr_matrix((ones, cols, indptr), shape=shape)
        else:
            self.A = sparse.csr_matrix((ones, (items.astype(idx_dtype), cols)), shape=shape)
        self.n_labels = cols.size

    def log_joint(self, log_conf: FloatArray, log_prior: FloatArray) -> FloatArray:
        """``log p(item's labels, true=k)`` for every item and k.

        ``log_conf`` has shape (n_trainers*K, K): row ``t*K + obs``, column ``true``.
        """
        out: FloatArray = self.A @ log_conf
        out += log_prior
        return out

    def expected_counts(self, probas: FloatArray) -> FloatArray:
        """(n_trainers*K, K) expected counts: row ``t*K + obs``, column ``true``."""
        out: FloatArray = self.A.T @ probas
        return out
