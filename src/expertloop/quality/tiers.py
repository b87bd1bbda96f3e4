"""Tiers of trainers (a price and a quality) and cost-aware routing: whom to ask next.

Among tiers, each with a confusion matrix (or just an accuracy) and a price per
judgment, buy from the tier with the largest expected accuracy gain per unit
cost (:func:`expertloop.quality.value.expected_accuracy_gain`), or from none when
no tier's gain per unit cost reaches ``min_gain_per_dollar``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import FloatArray, IntArray
from .posteriors import _check_confusions
from .value import expected_accuracy_gain

__all__ = ["Tier", "choose_tier", "choose_tiers", "one_coin_confusion"]


def one_coin_confusion(accuracy: float, n_classes: int) -> FloatArray:
    """``K x K`` confusion with ``accuracy`` on the diagonal, errors spread evenly."""
    a = float(accuracy)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    k = int(n_classes)
    if k < 2:
        raise ValueError("n_classes must be >= 2")
    c = np.full((k, k), (1.0 - a) / (k - 1))
    np.fill_diagonal(c, a)
    return c


@dataclass(frozen=True, eq=False)
class Tier:
    """A pool of interchangeable trainers: a price per judgment and a quality.

    Give either ``confusion`` (``K x K``, ``C[true, observed]``; e.g. the
    judgment-weighted mean of the tier's trainers' Dawid-Skene confusions) or
    ``accuracy`` (errors then spread evenly over the other classes).
    ``cost`` is in any currency unit, per judgment (e.g. hourly rate x minutes
    per judgment / 60).
    """

    name: str
    cost: float
    accuracy: float | None = None
    confusion: FloatArray | None = None

    def __post_init__(self) -> None:
        if not float(self.cost) > 0:
            raise ValueError(f"tier {self.name!r}: cost must be > 0, got {self.cost}")
        if (self.accuracy is None) == (self.confusion is None):
            raise ValueError(f"tier {self.name!r}: give exactly one of accuracy or confusion")
        if self.confusion is not None:
            c = _check_confusions(self.confusion, "confusion")
            if c.ndim != 2:
                raise ValueError(f"tier {self.name!r}: confusion must be (K, K)")
            object.__setattr__(self, "confusion", c)

    def confusion_matrix(self, n_classes: int) -> FloatArray:
        """The tier's ``K x K`` confusion matrix for ``n_classes`` classes."""
        if self.confusion is not None:
            if self.confusion.shape[0] != n_classes:
                raise ValueError(
                    f"tier {self.name!r} has a {self.confusion.shape[0]}-class confusion, "
                    f"item has {n_classes} classes"
                )
            return self.confusion
        assert self.accuracy is not None  # __post_init__: exactly one of accuracy, confusion
        return one_coin_confusion(self.accuracy, n_classes)


def _gain_rates(probas: FloatArray, tiers: Sequence[Tier], lookahead: int) -> FloatArray:
    """(n_items, n_tiers) best expected accuracy gain per unit cost over 1..lookahead judgments."""
    k = probas.shape[-1]
    rates = np.zeros((probas.shape[0], len(tiers)))
    for t, tier in enumerate(tiers):
        conf = tier.confusion_matrix(k)
        for n in range(1, lookahead + 1):
            rate = expected_accuracy_gain(probas, conf, n) / (n * float(tier.cost))
            np.maximum(rates[:, t], rate, out=rates[:, t])
    return rates


def choose_tiers(
    probas: Any, tiers: Sequence[Tier], min_gain_per_dollar: float = 0.0, lookahead: int = 2
) -> IntArray:
    """Vectorised :func:`choose_tier`: tier index per item, ``-1`` for none."""
    p = np.asarray(probas, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probas must be (n_items, K), got shape {p.shape}")
    if not tiers:
        raise ValueError("no tiers given")
    lookahead = int(lookahead)
    if lookahead < 1:
        raise ValueError(f"lookahead must be >= 1, got {lookahead}")
    rates = _gain_rates(p, tiers, lookahead)
    # ties (equal gain per dollar, up to rounding) go to the cheaper tier, then
    # to the earlier one: the first tier in cost order that reaches the best rate
    by_cost = sorted(range(len(tiers)), key=lambda t: (float(tiers[t].cost), t))
    best_rate = rates.max(axis=1)
    reaches = rates[:, by_cost] >= best_rate[:, None] * (1 - 1e-9)
    best = np.asarray(by_cost)[np.argmax(reaches, axis=1)]
    return np.where(best_rate > float(min_gain_per_dollar), best, -1)


def choose_tier(
    posterior: Any, tiers: Sequence[Tier], min_gain_per_dollar: float = 0.0, lookahead: int = 2
) -> Tier | None:
    """The tier to buy the next judgment from, or ``None`` if none is worth it.

    Each tier is scored by its expected accuracy gain per unit cost,
    ``max over n = 1..lookahead of expected_accuracy_gain(posterior, C_tier, n) / (n * cost)``
    (the look-ahead catches tiers whose single judgment cannot flip the label
    but whose next few can). The best-scoring tier is returned; equal scores
    go to the cheaper tier.

    ``None`` is returned when the best score is not above
    ``min_gain_per_dollar``: no purchase is worth its price. A natural value is
    ``1 / V`` where ``V`` is what a correct label on this item is worth to the
    programme (in the same currency as ``cost``): buying a judgment that raises
    P(correct) by ``g`` at price ``c`` pays off when ``g * V > c``. With the
    default ``0.0``, ``None`` means that no tier can change the answer within
    ``lookahead`` judgments (e.g. the item is already certain).
    """
    p = np.asarray(posterior, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"posterior must be (K,), got shape {p.shape}")
    idx = int(choose_tiers(p[None, :], tiers, min_gain_per_dollar, lookahead)[0])
    return None if idx < 0 else tiers[idx]
