"""Inputs that used to reach a 500: digits Python calls digits but int() refuses ("²"), JSON
nested past the decoder, and dates at the end of the calendar."""

from __future__ import annotations

import pytest

from expertloop.domain.errors import ValidationFailed
from expertloop.services import payroll
from expertloop.web.work import _signals
from tests.factories import ADMIN, project, token
from tests.web.helpers import PageClient


def test_superscript_digits_in_query_and_form_ids_are_not_ids(client, session):
    p = project(session, "label")
    manager = PageClient(client, token(session, "manager"), "/manage")
    for path in ("/manage/audit?project=²", "/manage/audit?before=¹²", f"/manage/projects/{p['id']}/items?after=²"):
        r = manager.get(path)
        assert r.status_code < 500, (path, r.status_code)


def test_writing_signals_nested_past_the_decoder_are_a_located_error():
    with pytest.raises(ValidationFailed) as caught:
        _signals("[" * 50_000 + "]" * 50_000)
    assert caught.value.problems[0].loc == "authenticity"


def test_pay_periods_end_inside_the_calendar(session):
    with pytest.raises(ValidationFailed) as caught:
        payroll.create_period(session, ADMIN, "Forever", "9999-12-01", "9999-12-31")
    assert caught.value.problems[0].loc == "starts_on"
