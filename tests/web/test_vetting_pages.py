"""Vetting, routing and quality in the browser: a manager uploads an exam, an applicant passes
it and is activated; the quality report; a trainer paused by a quality floor and let back in;
an escalated item's history."""

from __future__ import annotations

import re

import pytest

from expertloop.demo.seed import APPLICANT_EMAIL, DEMO_PASSWORDS

from .helpers import stored, wait_for_jobs, wait_until

pytestmark = pytest.mark.browser

EXAM_YAML = b"""name: "History: dates and facts"
domain: history
level: 3
task_type: label
options: {labels: ['true', 'false']}
pass_mark: 0.75
time_limit_minutes: 10
retake_cooldown_hours: 24
questions:
  - {text: "The Battle of Hastings was fought in 1066.", gold: 'true'}
  - {text: "The Berlin Wall fell in 1991.", gold: 'false'}
  - {text: "The Magna Carta was sealed in 1215.", gold: 'true'}
  - {text: "Napoleon was crowned emperor in 1815.", gold: 'false'}
"""
ANSWERS = {"Hastings": "true", "Berlin": "false", "Magna": "true", "Napoleon": "false"}


def _yaml(name: str, body: bytes) -> dict:
    return {"name": name, "mimeType": "application/yaml", "buffer": body}


def test_a_manager_adds_an_exam_and_watches_an_applicant_qualify(visit, live_site):
    applicant_id = live_site.expert_id(APPLICANT_EMAIL)
    manager = visit("manager")
    page = manager.page
    page.goto("/manage/exams")
    assert "General knowledge: myths and facts" in page.inner_text("#exams")     # the demo's exam
    # a definition with a mistake: every problem is named with its location, nothing is created
    bad = EXAM_YAML.replace(b", gold: 'false'}", b"}", 1)
    page.set_input_files("input[name=definition]", files=[_yaml("bad.yaml", bad)])
    page.click("form[action='/manage/exams'] button[type=submit]")
    assert "questions[1].gold" in page.inner_text(".problems-box")
    page.set_input_files("input[name=definition]", files=[_yaml("history.yaml", EXAM_YAML)])
    with page.expect_navigation():
        page.click("form[action='/manage/exams'] button[type=submit]")
    assert "created with 4 questions" in page.inner_text(".flashes")
    row = page.locator("#exams tr", has_text="History: dates and facts")
    assert "history" in row.inner_text() and "75%" in row.inner_text() and "10 min" in row.inner_text()
    exam_id = int(row.get_attribute("data-exam-id"))
    manager.shot("manage-exams")

    # an applicant cannot be activated before qualifying
    page.goto("/manage/experts")
    assert page.get_attribute(f"#expert-{applicant_id}", "data-status") == "applicant"
    with page.expect_navigation():
        page.click(f"#expert-{applicant_id} [data-activate]")
    assert "must pass a qualification exam" in page.inner_text(".flashes")

    # the applicant takes the exam with the keyboard (and the mouse for the last answer)
    trainer = visit()
    trainer.sign_in_password(APPLICANT_EMAIL, DEMO_PASSWORDS[APPLICANT_EMAIL])
    tp = trainer.page
    tp.goto("/exams")
    assert tp.get_attribute(f"#my-exams tr[data-exam-id='{exam_id}']", "data-status") == "not_taken"
    trainer.shot("trainer-exams", full_page=False)
    tp.click(f"#my-exams tr[data-exam-id='{exam_id}'] a.btn")
    with tp.expect_navigation():
        tp.click("[data-start-exam]")
    questions = tp.locator(".exam-question")
    assert questions.count() == 4
    wait_until(tp, "document.querySelector('.timer-value').textContent.includes(':')"
                   " && !document.querySelector('.timer-value').textContent.includes('–')")
    minutes = int(tp.inner_text(".timer-value").split(":")[0])
    assert 8 <= minutes <= 10
    texts = [questions.nth(i).inner_text() for i in range(4)]
    wanted = [next(v for k, v in ANSWERS.items() if k in t) for t in texts]
    for answer in wanted[:3]:
        tp.keyboard.press("1" if answer == "true" else "2")
    tp.locator(".exam-question").nth(3).locator(f"label.choice:has(input[value='{wanted[3]}'])").click()
    assert tp.inner_text("[data-answered]") == "4 of 4 answered"
    tp.evaluate("window.scrollTo(0, 0)")
    trainer.shot("exam-take", full_page=False)
    with tp.expect_navigation():
        tp.keyboard.press("Control+Enter")
    assert "Passed with 100%" in tp.inner_text(".flashes")
    assert "history level 3 verified" in tp.inner_text("#result [data-certificate]")
    assert "gold" not in tp.content().lower()
    tp.goto("/my-work")
    assert "verified 3" in tp.inner_text("#expertise [data-verified='history']")
    assert "History: dates and facts" in tp.inner_text("#expertise")
    assert not trainer.errors and not trainer.dialogs

    # the manager sees a qualified expert with a verified level and activates them
    page.goto("/manage/experts")
    row = page.locator(f"#expert-{applicant_id}")
    assert row.get_attribute("data-status") == "qualified"
    assert "✓ 3" in row.locator(".level-row", has_text="history").inner_text()
    assert "History: dates and facts" in row.locator("[data-certificate]").inner_text()
    with page.expect_navigation():
        page.click(f"#expert-{applicant_id} [data-activate]")
    assert "is now active" in page.inner_text(".flashes")
    assert page.get_attribute(f"#expert-{applicant_id}", "data-status") == "active"
    manager.shot("manage-experts")
    page.goto("/manage/exams")
    assert page.locator(f"#exams tr[data-exam-id='{exam_id}'] td").nth(9).inner_text() == "1"   # passes
    assert not manager.errors


def _lease(site, project_id: int, token: str) -> dict | None:
    r = site.api("POST", f"/api/v1/projects/{project_id}/assignments/next", token)
    assert r.status_code in (200, 204), r.text
    return r.json() if r.status_code == 200 else None


def _submit(site, assignment_id: int, token: str, response: dict) -> None:
    r = site.api("POST", f"/api/v1/assignments/{assignment_id}/submit", token, json={"response": response})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def floor_project(live_site) -> dict:
    """A label project with a quality floor: three careful trainers and one who is always wrong."""
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": "Drug interactions: is the combination safe?", "task_type": "label",
        "guidelines": "Answer from the product label.", "options": {"labels": ["safe", "unsafe"]},
        "overlap": 4, "quality_floor": {"gold_accuracy": 0.8, "min_gold": 4}})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    truth = ["safe", "unsafe", "unsafe", "safe", "unsafe", "safe", "safe", "unsafe"]
    items = [{"external_id": f"dx-{i}", "text": f"Combination {i}", "gold": g} for i, g in enumerate(truth)]
    assert live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=items).status_code == 201
    careless = live_site.token_for("kenji@demo.expertloop.dev")
    for _ in range(4):                      # four wrong gold answers: paused
        lease = _lease(live_site, pid, careless)
        right = truth[int(stored(live_site, lease["assignment_id"])["item"]["external_id"].split("-")[1])]
        _submit(live_site, lease["assignment_id"], careless, {"label": "unsafe" if right == "safe" else "safe"})
    assert live_site.api("POST", f"/api/v1/projects/{pid}/assignments/next", careless).status_code in (403, 404)
    for n, email in enumerate(("amara@demo.expertloop.dev", "lukas@demo.expertloop.dev", "sofia@demo.expertloop.dev")):
        token = live_site.token_for(email)
        while (lease := _lease(live_site, pid, token)) is not None:
            k = int(stored(live_site, lease["assignment_id"])["item"]["external_id"].split("-")[1])
            label = truth[k] if k != n else ("unsafe" if truth[k] == "safe" else "safe")   # one slip each
            _submit(live_site, lease["assignment_id"], token, {"label": label})
    return {"id": pid, "careless": careless, "careless_id": live_site.expert_id("kenji@demo.expertloop.dev")}


def test_the_quality_page_shows_agreement_and_scorecards(visit, live_site, floor_project):
    wait_for_jobs(live_site, floor_project["id"])  # the page reads the report the refit job stores
    manager = visit("manager")
    page = manager.page
    page.goto(f"/manage/projects/{floor_project['id']}")
    with page.expect_navigation():
        page.click("a:has-text('Quality report')")
    assert page.url.endswith(f"/manage/projects/{floor_project['id']}/quality")
    alpha = page.inner_text("[data-stat=alpha]")
    assert re.search(r"-?\d\.\d\d", alpha) and "95% CI" in alpha
    assert "%" in page.inner_text("[data-stat=percent-agreement]")
    rows = page.locator("#scorecards tbody tr")
    assert rows.count() == 4
    careless = page.locator(f"#scorecards tr[data-expert-id='{floor_project['careless_id']}']").inner_text()
    assert "Kenji Watanabe" in careless and "0/4" in careless
    assert "Least confident items" in page.inner_text("#consensus")
    assert page.locator("#groups table").count() >= 1              # degree (phd, master, bachelor)
    groups = page.inner_text("#groups").lower()
    assert "agreement with the consensus" in groups and "trainers" in groups
    small = page.locator("#groups tr[data-too-small]")             # one or two trainers per degree here
    assert small.count() >= 1 and "too small" in small.first.inner_text()
    manager.shot("manage-quality")
    assert not manager.errors


def test_a_paused_trainer_is_listed_and_the_manager_lifts_the_pause(visit, live_site, floor_project):
    pid, kenji = floor_project["id"], floor_project["careless_id"]
    manager = visit("manager")
    page = manager.page
    page.goto(f"/manage/projects/{pid}")
    assert int(page.get_attribute(".nav-notes", "data-notifications")) >= 1
    pause = page.locator(f"#pauses [data-pause-expert='{kenji}']")
    assert "below the project's floor of 80%" in pause.inner_text()
    assert "surely below 80%" in page.inner_text("[data-policy=quality-floor]")
    assert "trainer paused" in page.inner_text("#notifications")
    with page.expect_navigation():
        pause.locator("button:has-text('Lift')").click()
    assert "may work on this project again" in page.inner_text(".flashes")
    assert page.locator(f"#pauses [data-pause-expert='{kenji}'] button").count() == 0
    pauses = live_site.api("GET", f"/api/v1/projects/{pid}/pauses", "admin").json()
    assert pauses[0]["lifted_at"] is not None
    lease = live_site.api("POST", f"/api/v1/projects/{pid}/assignments/next", floor_project["careless"])
    assert lease.status_code in (200, 204)
    assert not manager.errors


def test_an_escalated_item_shows_its_history(visit, live_site):
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": "Clinical claims: fact-check", "task_type": "factcheck", "guidelines": "Cite a source.",
        "overlap": 2, "tiers": [{"name": "generalist", "requirements": {}},
                                {"name": "specialist", "requirements": {"min_degree": "phd"}}]})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    item = {"external_id": "claim-1", "prompt": "Is aspirin safe for children?",
            "response": "Aspirin is safe for children. It is sold over the counter.",
            "claims": ["Aspirin is safe for children.", "It is sold over the counter."]}
    assert live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=[item]).status_code == 201
    for email, verdicts in (("sofia@demo.expertloop.dev", ["refuted", "supported"]),
                            ("lukas@demo.expertloop.dev", ["refuted", "not_enough_info"])):
        token = live_site.token_for(email)
        lease = _lease(live_site, pid, token)
        _submit(live_site, lease["assignment_id"], token, {"claims": [{"verdict": v} for v in verdicts]})

    manager = visit("manager")
    page = manager.page
    page.goto(f"/manage/projects/{pid}")
    assert "specialist" in page.inner_text("[data-policy=tiers]")
    note = page.locator("#notifications [data-kind=item_escalated]")
    assert "disagree on claim(s) 2" in note.inner_text()
    with page.expect_navigation():
        note.locator("a:has-text('Item history')").click()
    assert re.search(r"/manage/items/\d+$", page.url)
    assert page.inner_text("h1") == "Item claim-1"
    assert page.inner_text("[data-stat=tier]") == "specialist"
    escalated = page.locator("#timeline [data-kind=escalated]").inner_text()
    assert "specialist" in escalated and "trainers disagree on claims" in escalated and "claim 2" in escalated
    assert page.locator("#timeline [data-kind=judged]").count() == 2
    manager.shot("manage-item-history")
    page.goto("/manage/notifications")
    assert "escalated to specialist" in page.inner_text("#notes")
    assert not manager.errors
