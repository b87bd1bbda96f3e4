"""Consent in the browser: a trainer starting a project with terms reads them first, agrees and
lands on a task; withdrawing takes their work out of the export."""

from __future__ import annotations

import pytest

from .helpers import XSS

pytestmark = pytest.mark.browser


def test_a_trainer_agrees_to_the_terms_works_and_withdraws(visit, live_site):
    terms = "# Terms\n\nYour labels train models.\n\n" + XSS[0] + "\n\n" + XSS[1]
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": "Labels under terms", "task_type": "label", "options": {"labels": ["true", "false"]},
        "overlap": 1, "terms": terms})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin",
                      json=[{"external_id": f"t{i}", "text": f"Statement {i}"} for i in range(2)])
    assert r.status_code == 201, r.text

    trainer = visit("trainer")
    page = trainer.page
    page.goto("/work")
    card = page.locator(f".project-card[data-project-id='{pid}']")
    assert "Terms (version 1)" in card.inner_text()
    with page.expect_navigation():
        card.locator("button[type=submit]").click()
    assert page.url.endswith(f"/work/projects/{pid}/terms")
    assert "read this project's terms" in page.inner_text(".flashes")
    assert "Your labels train models." in page.inner_text("#terms")
    assert page.evaluate("window.__xss === undefined")
    assert page.locator("#terms script, #terms img[onerror]").count() == 0
    assert page.locator("[data-withdraw]").count() == 0          # nothing to withdraw yet
    trainer.shot("work-terms")
    with page.expect_navigation():
        page.click("[data-agree]")
    assert "/tasks/" in page.url
    aid = int(page.url.rstrip("/").split("/")[-1])
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    export = live_site.api("GET", f"/api/v1/projects/{pid}/export?format=label", "admin")
    assert f'"assignment_id":{aid}' in export.text and '"terms_version":1' in export.text

    page.goto(f"/work/projects/{pid}/terms")
    assert "You agreed on" in page.inner_text(".page-head") and page.locator("[data-agree]").count() == 0
    page.fill("textarea[name=reason]", "I changed my mind")
    page.check("input[name=confirm]")
    with page.expect_navigation():
        page.click("[data-withdraw]")
    assert "Consent withdrawn. 1 contribution will leave every export" in page.inner_text(".flashes")
    assert live_site.api("GET", f"/api/v1/projects/{pid}/export?format=label", "admin").text == ""
    [row] = live_site.api("GET", f"/api/v1/projects/{pid}/consents", "admin").json()
    assert row["withdrawal_reason"] == "I changed my mind"
    # starting again asks for the terms again
    page.goto("/work")
    with page.expect_navigation():
        page.locator(f".project-card[data-project-id='{pid}'] button[type=submit]").click()
    assert page.url.endswith(f"/work/projects/{pid}/terms")

    manager = visit("manager")
    manager.page.goto(f"/manage/projects/{pid}")
    card = manager.page.inner_text("#consent")
    assert "0 in force · 1 withdrawn" in card and "I changed my mind" in card
    assert manager.page.evaluate("window.__xss === undefined")
    manager.page.locator("#consent").scroll_into_view_if_needed()
    manager.shot("manage-consent", full_page=False)
