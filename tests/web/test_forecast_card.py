"""Pages without a browser: the project page's forecast card, next to the budget."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import run_jobs, token
from tests.integration.test_forecast import _pilot

from .helpers import PageClient


def test_forecast_card_asks_for_a_target_and_shows_the_forecast(app, session):
    p, _ = _pilot(session, budget_usd="1000.00")
    with TestClient(app) as raw:
        page = PageClient(raw, token(session, "manager"), "/manage")
        url = f"/manage/projects/{p['id']}"
        r = page.get(url)
        assert r.status_code == 200 and 'name="forecast_kind"' in r.text and "data-forecast>" not in r.text
        r = page.get(url, params={"forecast_kind": "accuracy", "forecast_value": "0.9"})
        assert r.status_code == 200 and "refit_consensus job" in r.text  # no fit yet: said, not a 500
        run_jobs(session)
        r = page.get(url, params={"forecast_kind": "accuracy", "forecast_value": "0.9"})
        assert r.status_code == 200, r.text[:300]
        table = r.text.split("data-forecast>")[1].split("</table>")[0]
        assert "pilot mix" in table and "$" in table
        assert "budget left $" in r.text and "14 items left" in r.text
        r = page.get(url, params={"forecast_kind": "alpha", "forecast_value": "7"})
        assert r.status_code == 200 and "data-forecast-error" in r.text and "between 0 and 1" in r.text
        assert page.get(url, params={"forecast_value": "x" * 500}).status_code == 404  # the pages' bad-address answer
