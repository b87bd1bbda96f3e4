"""Browser tests for pay, standing, disputes and assigned reviews, in a real Chromium."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from expertloop.demo.seed import DEMO_PASSWORDS, REVIEWER_EMAIL, TRAINER_EMAIL

from .helpers import submit_via_api


def _project(site, name: str, items: list[dict], **extra) -> int:
    r = site.api("POST", "/api/v1/projects", "admin", json={"name": name, "task_type": "label",
                                                            "options": {"labels": ["yes", "no"]}, **extra})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=items)
    assert r.status_code == 201, r.text
    return pid


def _flash(page) -> str:
    return page.inner_text(".flashes")


def test_a_manager_runs_payroll_and_the_trainer_reads_the_statement(visit, live_site):
    manager = visit("manager")
    page = manager.page
    page.goto("/manage/pay")
    today = datetime.now(UTC).date().isoformat()
    if page.locator("#periods a").count() == 0:
        page.fill("#new-period input[name=name]", "this period")
        start = (datetime.now(UTC) - timedelta(days=300)).date().isoformat()
        page.fill("#new-period input[name=starts_on]", start)
        page.fill("#new-period input[name=ends_on]", today)
        with page.expect_navigation():
            page.click("#new-period button[type=submit]")
        assert "opened" in _flash(page)
    trainer_id = live_site.expert_id(TRAINER_EMAIL)
    before = live_site.api("GET", f"/api/v1/pay-periods/{_period(live_site)}/payroll", "admin").json()
    start = next((r["total_usd"] for r in before["rows"] if r["expert_id"] == trainer_id), "0.00")

    # "12,50" typed with the default number format is refused, never read as 1250.
    page.select_option("#adjust select[name=expert_id]", str(trainer_id))
    page.fill("#adjust input[name=amount]", "12,50")
    page.fill("#adjust textarea[name=reason]", "Weekend cover")
    with page.expect_navigation():
        page.click("#adjust button[type=submit]")
    assert "ambiguous" in _flash(page)
    # Declared as a decimal-comma locale, it is twelve dollars fifty.
    page.select_option("#adjust select[name=expert_id]", str(trainer_id))
    page.fill("#adjust input[name=amount]", "12,50")
    page.select_option("#adjust select[name=locale]", "de-DE")
    page.fill("#adjust textarea[name=reason]", "Weekend cover")
    with page.expect_navigation():
        page.click("#adjust button[type=submit]")
    assert "Bonus of $12.50 recorded" in _flash(page)
    manager.shot("manage-pay")
    with page.expect_download() as dl:
        page.click("#payroll-csv")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    mine = next(r for r in rows if r["expert_id"] == str(trainer_id))
    assert mine["total_usd"] == _plus(start, "12.50")

    trainer = visit("trainer")
    trainer.page.goto("/pay")
    assert "/h" in trainer.page.inner_text("#my-rate")
    assert "Weekend cover" in trainer.page.inner_text("#statement-lines")
    assert trainer.page.inner_text("#statement-total") == f"${mine['total_usd']}"
    trainer.shot("trainer-pay")
    assert not trainer.errors and not manager.errors


def _period(site) -> int:
    return site.api("GET", "/api/v1/pay-periods", "admin").json()[0]["id"]


def _plus(a: str, b: str) -> str:
    from decimal import Decimal
    return str(Decimal(a) + Decimal(b))


def test_a_reviewer_lands_on_the_queue_and_takes_an_assigned_review(visit, live_site):
    pid = _project(live_site, "Sampled review", [{"external_id": f"s{i}", "text": f"Is {i} even?"} for i in range(3)],
                   review_sampling={"rate": 1.0, "level2_rate": 0.0})
    submit_via_api(live_site, pid, {"label": "yes"})
    reviewer = visit()
    reviewer.sign_in_password(REVIEWER_EMAIL, DEMO_PASSWORDS[REVIEWER_EMAIL])
    page = reviewer.page
    assert page.url.endswith("/review")
    assert page.locator("#assigned").count() == 1
    reviewer.shot("review-assigned")
    with page.expect_navigation():
        page.click("#assigned button[type=submit]")
    assert "/review/task/" in page.url
    assert "Tom" in page.inner_text(".taskbar-title")           # the reviewer sees whose work it is
    assert page.locator(".verdict-card").inner_text().count("Already reviewed") == 0   # blind
    with page.expect_navigation():
        page.click("button[value=accept]")
    assert "accept recorded" in _flash(page)
    assert not reviewer.errors


def test_a_trainer_disputes_gold_and_the_upheld_dispute_rescores(visit, live_site):
    pid = _project(live_site, "Disputed gold", [{"external_id": "g", "text": "Is water wet?", "gold": "no"}])
    submit_via_api(live_site, pid, {"label": "yes"})
    trainer = visit("trainer")
    page = trainer.page
    page.goto(f"/work/projects/{pid}/standing")
    assert page.inner_text("#gold-accuracy").startswith("0%")
    row = page.locator("#gold-items tr[data-missed=yes]")
    row.locator("textarea[name=reason]").fill("Water wets things; the textbook answer is yes.")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    assert "adjudicator" in _flash(page)
    trainer.shot("trainer-standing")

    manager = visit("manager")
    manager.page.goto("/manage/disputes")
    form = manager.page.locator("#dispute-rows tr", has_text="Water wets things").locator("form")
    form.locator("input[name=gold]").fill("yes")
    with manager.page.expect_navigation():
        form.locator("button[value=uphold]").click()
    assert "upheld" in _flash(manager.page) and "100%" in _flash(manager.page)
    page.goto(f"/work/projects/{pid}/standing")
    assert page.inner_text("#gold-accuracy").startswith("100%")
    assert "upheld" in page.inner_text("#disputes")
    assert not trainer.errors and not manager.errors


# Elements of the page's own content (the shared top bar is the layout's) that stick out to the
# right of a phone's screen; wide tables scroll inside their .table-wrap and do not count.
STICKING_OUT = """() => [...document.querySelectorAll('main *')]
  .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + '.' + e.className)"""


def test_pay_and_standing_pages_fit_a_phone(visit, live_site):
    """At 360 px the content of the new pages fits the screen; wide tables scroll in their card."""
    trainer = visit("trainer", viewport={"width": 360, "height": 740})
    for url in ("/pay", f"/work/projects/{_any_project(live_site)}/standing"):
        trainer.page.goto(url)
        assert trainer.page.evaluate(STICKING_OUT) == [], url
    manager = visit("manager", viewport={"width": 360, "height": 740})
    for url in ("/manage/pay", "/manage/disputes"):
        manager.page.goto(url)
        assert manager.page.evaluate(STICKING_OUT) == [], url


def _any_project(site) -> int:
    return min(p["id"] for p in site.api("GET", "/api/v1/projects", "admin").json())
