"""Turn arbitrary hashable ids and labels into dense integer codes, once.

Every estimator in this package works on integer codes (``0..n-1``) so that the
inner loops are plain ``np.bincount`` / sparse products. Encoding is done a
single time per ``fit``; the original ids are kept to label the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import Array, IntArray, as_1d, check_same_length, missing_mask

__all__ = ["EncodedLabels", "encode_labels", "factorize", "lookup"]

# Integer ids whose range is at most this multiple of their count are encoded
# with a lookup table (O(n)) instead of a sort (O(n log n)).
_DENSE_RANGE_FACTOR = 4


def factorize(values: Any) -> tuple[Array, IntArray]:
    """Return ``(uniques, codes)`` with ``uniques[codes] == values``.

    Uniques are sorted when the values are mutually comparable (numbers,
    strings); otherwise (e.g. a mix of ints and strings) they keep the order of
    first appearance. Codes are ``np.intp``.
    """
    arr = as_1d(values)
    if arr.size == 0:
        return arr[:0], np.zeros(0, dtype=np.intp)
    if arr.dtype.kind in "iub":
        lo, hi = int(arr.min()), int(arr.max())
        if hi - lo <= _DENSE_RANGE_FACTOR * arr.size + 1024:
            offset = arr.astype(np.intp, copy=False) - lo
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[offset] = True
            rank = np.cumsum(present, dtype=np.intp) - 1
            uniques = (np.flatnonzero(present) + lo).astype(arr.dtype)
            return uniques, rank[offset]
    try:
        uniques, codes = np.unique(arr, return_inverse=True)
        return uniques, codes.astype(np.intp, copy=False).reshape(-1)
    except TypeError:
        pass
    table: dict[Any, int] = {}
    codes = np.fromiter(
        (table.setdefault(v, len(table)) for v in arr.tolist()), dtype=np.intp, count=arr.size
    )
    uniques = np.empty(len(table), dtype=object)
    for v, i in table.items():
        uniques[i] = v
    return uniques, codes


def _concat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == b.dtype.kind and a.dtype.kind != "O":
        return np.concatenate([a, b])
    # mixed kinds: compare as Python objects so that 1 != "1" but 1 == 1.0
    return np.concatenate([a.astype(object), b.astype(object)])


def lookup(uniques: Any, values: Any) -> IntArray:
    """Codes of ``values`` in ``uniques`` (as produced by :func:`factorize`); -1 if absent."""
    values = as_1d(values)
    if values.size == 0:
        return np.zeros(0, dtype=np.intp)
    uniques = np.asarray(uniques)
    _, codes = factorize(_concat(uniques, values))
    mapping = np.full(codes.max() + 1, -1, dtype=np.intp)
    mapping[codes[: len(uniques)]] = np.arange(len(uniques))
    out: IntArray = mapping[codes[len(uniques):]]
    return out


@dataclass(frozen=True)
class EncodedLabels:
    """Categorical judgments as integer codes plus the ids that decode them.

    ``items``, ``trainers`` and ``labels`` are aligned code arrays (one entry per
    judgment). ``gold_items``/``gold_labels`` are the codes of the gold items
    that occur in the data and of their known classes.
    """

    item_ids: np.ndarray
    trainer_ids: np.ndarray
    classes: np.ndarray
    items: np.ndarray
    trainers: np.ndarray
    labels: np.ndarray
    gold_items: np.ndarray
    gold_labels: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_trainers(self) -> int:
        return len(self.trainer_ids)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _gold_arrays(gold: Any) -> tuple[Array, Array]:
    if isinstance(gold, Mapping):
        return as_1d(list(gold.keys()), "gold items"), as_1d(list(gold.values()), "gold labels")
    if isinstance(gold, tuple) and len(gold) == 2:
        g_items, g_labels = as_1d(gold[0], "gold items"), as_1d(gold[1], "gold labels")
        check_same_length(gold_items=g_items, gold_labels=g_labels)
        return g_items, g_labels
    raise TypeError("gold must be a mapping item -> label or a pair (items, labels)")


def encode_labels(items: Any, trainers: Any, labels: Any, gold: Any = None, classes: Any = None) -> EncodedLabels:
    """Encode long-format judgments ``(item, trainer, label)`` into integer codes.

    Rows whose label is missing (None or NaN) are dropped first.

    Parameters
    ----------
    items, trainers, labels : array-like of hashables, equal lengths
    gold : mapping item -> label, or pair ``(items, labels)``, optional
        Known labels. Gold labels that never occur among ``labels`` are added to
        the classes; gold items without any judgment are ignored.
    classes : array-like, optional
        Full set of classes (e.g. to keep a class nobody chose). Labels outside
        it raise ``ValueError``.
    """
    items = as_1d(items, "items")
    trainers = as_1d(trainers, "trainers")
    labels = as_1d(labels, "labels")
    check_same_length(items=items, trainers=trainers, labels=labels)
    missing = missing_mask(labels)
    if missing.any():
        items, trainers, labels = items[~missing], trainers[~missing], labels[~missing]
    if items.size == 0:
        raise ValueError("no judgments given")
    item_ids, item_codes = factorize(items)
    trainer_ids, trainer_codes = factorize(trainers)

    g_items = g_labels = None
    if gold is not None:
        g_items, g_labels = _gold_arrays(gold)

    if classes is not None:
        class_ids, _ = factorize(as_1d(classes, "classes"))
        label_codes = lookup(class_ids, labels)
        if (label_codes < 0).any():
            raise ValueError("labels contain values outside `classes`")
    elif g_labels is not None and g_labels.size:
        extra = g_labels[lookup(factorize(labels)[0], g_labels) < 0]
        if extra.size:
            class_ids, _ = factorize(_concat(labels, extra))
            label_codes = lookup(class_ids, labels)
        else:
            class_ids, label_codes = factorize(labels)
    else:
        class_ids, label_codes = factorize(labels)

    gold_items = gold_labels = np.zeros(0, dtype=np.intp)
    if g_items is not None and g_items.size:
        gi = lookup(item_ids, g_items)
        gl = lookup(class_ids, g_labels)
        if (gl < 0).any():
            raise ValueError("gold labels contain values outside `classes`")
        keep = gi >= 0
        gold_items, gold_labels = gi[keep], gl[keep]
        if np.unique(gold_items).size != gold_items.size:
            raise ValueError("an item appears more than once in gold")

    return EncodedLabels(
        item_ids=item_ids,
        trainer_ids=trainer_ids,
        classes=class_ids,
        items=item_codes,
        trainers=trainer_codes,
        labels=label_codes,
        gold_items=gold_items,
        gold_labels=gold_labels,
    )
