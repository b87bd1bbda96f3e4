"""When an item has enough judgments: confidence, the stopping rule, escalation, serving order.

Adaptive overlap (Sheng, Provost & Ipeirotis 2008, "Get another label?", KDD):
an item gets at least ``min_judgments`` judgments, then more only while its
confidence (max posterior) is below ``target_confidence``, up to
``max_judgments``; items still below target then go to the senior tier. See
:mod:`expertloop.quality.adaptive` for the whole picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import FloatArray, IntArray

__all__ = ["escalate", "in_doubt_order", "item_confidence", "needs_more"]


def item_confidence(probas: Any) -> FloatArray:
    """Max posterior per item: P(the arg-max label is correct) under the model.

    ``probas`` is ``(n_items, K)`` (or a single ``(K,)`` posterior, giving a
    0-d array).
    """
    p = np.asarray(probas, dtype=np.float64)
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise ValueError(f"probas must be (n_items, K) or (K,) with K >= 1, got shape {p.shape}")
    return np.asarray(p.max(axis=-1), dtype=np.float64)


def _check_rule(min_judgments: Any, max_judgments: Any, target_confidence: Any) -> None:
    if int(min_judgments) < 0:
        raise ValueError(f"min_judgments must be >= 0, got {min_judgments}")
    if max_judgments is not None and int(max_judgments) < int(min_judgments):
        raise ValueError(
            f"max_judgments ({max_judgments}) must be >= min_judgments ({min_judgments})"
        )
    if not 0.0 < float(target_confidence) <= 1.0:
        raise ValueError(f"target_confidence must be in (0, 1], got {target_confidence}")


def needs_more(
    probas: Any, n_judgments: Any, min_judgments: int = 1, max_judgments: int | None = 5,
    target_confidence: float = 0.95,
) -> npt.NDArray[np.bool_]:
    """Boolean mask: items that should get another (regular) judgment.

    An item needs more when it has fewer than ``min_judgments`` judgments, or
    when its confidence is below ``target_confidence`` and it has fewer than
    ``max_judgments`` (``None``: no cap). Items whose confidence is at or above
    the target after ``min_judgments`` are done; items still below it at
    ``max_judgments`` are done too, or escalated (:func:`escalate`).
    """
    _check_rule(min_judgments, max_judgments, target_confidence)
    conf = item_confidence(probas)
    n = np.asarray(n_judgments)
    if n.shape != conf.shape:
        raise ValueError(f"n_judgments has shape {n.shape}, expected {conf.shape}")
    below_cap = True if max_judgments is None else n < int(max_judgments)
    return np.asarray((n < int(min_judgments)) | ((conf < float(target_confidence)) & below_cap), dtype=bool)


def escalate(
    probas: Any, n_judgments: Any, max_judgments: int = 5, target_confidence: float = 0.95
) -> npt.NDArray[np.bool_]:
    """Boolean mask: items still below ``target_confidence`` after ``max_judgments``.

    These are the items regular trainers could not settle; the rule is to send
    them to the senior (more accurate, more expensive) tier rather than either
    accepting a doubtful label or paying for ever more regular judgments.
    """
    _check_rule(0, max_judgments, target_confidence)
    conf = item_confidence(probas)
    n = np.asarray(n_judgments)
    if n.shape != conf.shape:
        raise ValueError(f"n_judgments has shape {n.shape}, expected {conf.shape}")
    return np.asarray((n >= int(max_judgments)) & (conf < float(target_confidence)), dtype=bool)


def in_doubt_order(probas: Any, n_judgments: Any = None, mask: Any = None) -> IntArray:
    """Indices of items in serving order: lowest confidence first.

    Ties are broken by fewer judgments first (when ``n_judgments`` is given),
    then by index. ``mask`` (boolean, optional) restricts the result to the
    items where it is true, e.g. ``needs_more(...)``.
    """
    conf = np.atleast_1d(item_confidence(probas))
    keys = [conf]
    if n_judgments is not None:
        n = np.asarray(n_judgments)
        if n.shape != conf.shape:
            raise ValueError(f"n_judgments has shape {n.shape}, expected {conf.shape}")
        keys.insert(0, n)  # np.lexsort: last key is the primary one
    order = np.lexsort(keys)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != conf.shape:
            raise ValueError(f"mask has shape {mask.shape}, expected {conf.shape}")
        order = order[mask[order]]
    return np.asarray(order, dtype=np.intp)
