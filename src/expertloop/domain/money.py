"""Money as :class:`~decimal.Decimal` US dollars, stored as integer cents. Never float.

Amounts are parsed strictly and never guessed: ``"1,250.00"`` (commas between groups of three
digits) is one thousand two hundred and fifty dollars, but ``"12,50"`` — a decimal comma in
some locales, a typo in others — is refused with a message saying how to write it, unless
the form that sent it declares a locale whose decimal separator is a comma (``de-DE``: ``12,50``
is twelve dollars fifty, ``1.250,50`` one thousand two hundred and fifty; see
:func:`parse_amount`).
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


# Languages whose numbers write decimals with a comma (CLDR); a locale "de-DE" is read by its language,
# except the few regions listed below that write a point.
DECIMAL_COMMA_LANGUAGES = frozenset({
    "af", "az", "be", "bg", "bs", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fi", "fo", "fr", "gl",
    "hr", "hu", "hy", "id", "is", "it", "ka", "kk", "ky", "lt", "lv", "mk", "mn", "nb", "nl", "nn", "no",
    "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tr", "uk", "uz", "vi"})
DECIMAL_POINT_REGIONS = frozenset({"de-ch", "de-li", "es-mx", "es-us", "fr-ch", "it-ch"})
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_COMMA_PLAIN = re.compile(r"^\d+(,\d+)?$")
_COMMA_GROUPED = re.compile(r"^\d{1,3}([. \u00a0\u202f]\d{3})+(,\d+)?$")


def decimal_comma(locale: str | None) -> bool:
    """True when ``locale`` (a BCP 47 tag such as ``de-DE``) writes decimals with a comma."""
    if not locale:
        return False
    tag = locale.strip().replace("_", "-").lower()
    if not _LOCALE.match(tag):
        raise ValueError(f"is not a locale tag such as en-US or de-DE: {_show(locale)}")
    if tag in DECIMAL_POINT_REGIONS or "-".join(tag.split("-")[:2]) in DECIMAL_POINT_REGIONS:
        return False
    return tag.split("-")[0] in DECIMAL_COMMA_LANGUAGES


def parse_amount(value: object, *, locale: str | None = None, signed: bool = False) -> Decimal:
    """An amount typed by a person, read as the declaring form's ``locale`` writes numbers.

    Without a locale, or with one that writes a decimal point, this is :func:`parse_usd`
    (``12,50`` is refused). With a decimal-comma locale (``de-DE``, ``fr``) a comma is the decimal
    separator and a point or a space groups thousands: ``12,50`` and ``1.250,50``; a lone point
    (``12.50``) is refused there, since that form would mean twelve thousand five hundred.
    ``signed`` allows a leading minus (adjustments may take money back)."""
    negative = False
    if signed and isinstance(value, str) and value.strip().startswith("-"):
        negative, value = True, value.strip()[1:]
    elif signed and isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value < 0:
        negative, value = True, -value
    if isinstance(value, str) and decimal_comma(locale):
        text = value.strip()
        if text.startswith("$"):
            text = text[1:].strip()
        if text.startswith("-"):
            raise ValueError(f"must be a non-negative amount, got {_show(value)}")
        if _COMMA_PLAIN.match(text):
            value = text.replace(",", ".")
        elif _COMMA_GROUPED.match(text):
            value = re.sub(r"[. \u00a0\u202f]", "", text).replace(",", ".")
        else:
            raise ValueError(f"{_show(value)} is not an amount in locale {locale}: write decimals with a comma "
                             "and group thousands with a point, e.g. 1.250,50")
    amount = parse_usd(value)
    return -amount if negative else amount


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…'"


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def fmt_usd(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
