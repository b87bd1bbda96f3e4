"""Money as :class:`~decimal.Decimal` US dollars, stored as integer cents. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def parse_usd(value: object) -> Decimal:
    """Parse ``"120.00"``, ``120`` or ``Decimal`` into a non-negative amount; floats are refused
    because ``0.1 + 0.2`` is how payroll bugs start."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("must be a decimal string such as \"120.00\" or an integer, not a float")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"is not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"must be a non-negative amount, got {value!r}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"must have at most two decimals, got {value!r}")
    return amount.quantize(CENT)


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def fmt_usd(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
