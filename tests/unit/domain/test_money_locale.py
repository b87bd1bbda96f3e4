"""Amounts typed by people, read as the form's declared locale writes numbers — or refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from expertloop.domain.money import decimal_comma, parse_amount


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("12.50", None, "12.50"), ("1,250.50", "en-US", "1250.50"), ("12,50", "de-DE", "12.50"),
    ("1.250,50", "de-DE", "1250.50"), ("1 250,50", "fr-FR", "1250.50"), ("1\u202f250,50", "fr", "1250.50"),
    ("12", "de", "12.00"), ("$12,5", "pt-BR", "12.50"), ("12.50", "de-CH", "12.50"),
])
def test_amounts_in_their_locale(text, locale, expected):
    assert parse_amount(text, locale=locale) == Decimal(expected)


@pytest.mark.parametrize(("text", "locale", "match"), [
    ("12,50", None, "ambiguous"), ("12,50", "en-GB", "ambiguous"),
    ("12.50", "de-DE", "not an amount in locale de-DE"),   # would be 1250 in German: never guessed
    ("1.25,0", "de-DE", "not an amount"), ("12,505", "de-DE", "two decimals"), ("-1,00", "de-DE", "non-negative"),
])
def test_ambiguous_or_foreign_amounts_are_refused(text, locale, match):
    with pytest.raises(ValueError, match=match):
        parse_amount(text, locale=locale)


def test_signed_amounts_for_adjustments():
    assert parse_amount("-12,50", locale="de-DE", signed=True) == Decimal("-12.50")
    assert parse_amount("-0.05", signed=True) == Decimal("-0.05")
    with pytest.raises(ValueError):
        parse_amount("--1", signed=True)


def test_locale_tags_are_checked():
    assert decimal_comma("de_AT") and not decimal_comma("en") and not decimal_comma(None)
    with pytest.raises(ValueError, match="locale tag"):
        decimal_comma("12")
