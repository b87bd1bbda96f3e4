"""Money as :class:`~decimal.Decimal` US dollars, stored as integer cents. Never float.

Amounts are parsed strictly and never guessed: ``"1,250.00"`` (commas between groups of three
digits) is one thousand two hundred and fifty dollars, but ``"12,50"`` — a decimal comma in
some locales, a typo in others — is refused with a message saying how to write it.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# The largest amount accepted anywhere (a budget, a rate): its cents fit a 64-bit integer with
# room for sums of many of them.
MAX_USD = Decimal("1000000000000.00")
_PLAIN = re.compile(r"^\d+(\.\d+)?$")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_usd(value: object) -> Decimal:
    """Parse ``"120.00"``, ``"$1,250.50"``, ``120`` or ``Decimal`` into a non-negative amount.

    Floats are refused because ``0.1 + 0.2`` is how payroll bugs start; a comma is accepted
    only as a thousands separator; at most two decimals; at most :data:`MAX_USD`.
    """
    if isinstance(value, (bool, float)):
        raise ValueError("must be a decimal string such as \"120.00\" or an integer, not a float")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"must be a finite amount, got {value}")
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("$"):
            text = text[1:].strip()
    else:
        raise ValueError(f"must be an amount such as \"120.00\", got {type(value).__name__}")
    if text.startswith("-"):
        raise ValueError(f"must be a non-negative amount, got {_show(value)}")
    if isinstance(value, str) and "," in text:
        if not _GROUPED.match(text):
            raise ValueError(f"{_show(value)} is ambiguous: a comma is read only as a thousands separator "
                             "(1,250.00); write decimals with a point, e.g. 12.50")
        text = text.replace(",", "")
    if isinstance(value, str) and not _PLAIN.match(text):
        raise ValueError(f"is not an amount: {_show(value)} (write it like 1250.00)")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValueError(f"is not an amount: {_show(value)}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"must be a non-negative amount, got {_show(value)}")
    if amount > MAX_USD:
        raise ValueError(f"must be at most {MAX_USD}, got {_show(value)}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"must have at most two decimals, got {_show(value)}")
    return amount.quantize(CENT)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…'"


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def fmt_usd(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
