"""Money is parsed strictly and never guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from starlette.datastructures import FormData

from expertloop.domain.errors import ValidationFailed
from expertloop.domain.money import MAX_USD, parse_usd
from expertloop.domain.projects import parse_project


@pytest.mark.parametrize(("value", "expected"), [
    ("120.00", "120.00"), ("120", "120.00"), (120, "120.00"), ("$1,250.00", "1250.00"), ("1,250", "1250.00"),
    ("1,234,567.5", "1234567.50"), (" 7.10 ", "7.10"), ("120.000", "120.00"), (Decimal("3.5"), "3.50"),
])
def test_amounts_that_mean_one_thing_are_accepted(value, expected):
    assert parse_usd(value) == Decimal(expected)


@pytest.mark.parametrize(("value", "why"), [
    ("12,50", "ambiguous"), ("1,25", "ambiguous"), ("12,5000", "ambiguous"), ("1,25,000.00", "ambiguous"),
    ("1.250,00", "ambiguous"), (12.5, "float"), ("1e5", "not an amount"), ("NaN", "not an amount"),
    ("Infinity", "not an amount"), ("-5", "non-negative"), ("1.005", "two decimals"),
    ("9" * 40, "at most"), (10**30, "at most"), (Decimal("Infinity"), "finite"), (True, "float"),
    ("", "not an amount"), ([], "must be an amount"),
])
def test_ambiguous_or_impossible_amounts_are_refused_clearly(value, why):
    with pytest.raises(ValueError, match=why):
        parse_usd(value)


def test_every_accepted_amount_fits_bigint_cents():
    assert MAX_USD * 100 < 2**63 - 1


def test_a_decimal_comma_budget_from_the_console_is_refused_naming_the_field():
    from expertloop.web.forms import project_from_form

    form = FormData([("name", "P"), ("task_type", "label"), ("labels", "a\nb"), ("budget_usd", "12,50")])
    data = project_from_form(form)
    with pytest.raises(ValidationFailed) as exc:
        parse_project(data)
    assert [p.loc for p in exc.value.problems] == ["budget_usd"]
    assert "12.50" in exc.value.problems[0].msg  # says how to write it, guesses nothing
    form = FormData([("name", "P"), ("task_type", "label"), ("labels", "a\nb"), ("budget_usd", "$1,250.00")])
    assert parse_project(project_from_form(form)).budget_usd == Decimal("1250.00")
