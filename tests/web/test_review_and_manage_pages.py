"""Reviewers reject, accept and edit; trainers see the outcome; managers watch progress and spend,
create projects, upload items (with line-numbered errors) and download exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from expertloop.demo.seed import DEMO_PASSWORDS, REVIEWER_EMAIL

from .helpers import demo_projects, stored, submit_via_api, wait_for_jobs

pytestmark = pytest.mark.browser


def test_a_reviewer_rejects_and_the_trainer_sees_the_feedback(visit, live_site):
    ids = demo_projects(live_site)
    rejected = submit_via_api(live_site, ids["label"], {"label": "true"})
    accepted = submit_via_api(live_site, ids["label"], {"label": "true"})
    edited = submit_via_api(live_site, ids["label"], {"label": "true"})

    reviewer = visit()
    reviewer.sign_in_password(REVIEWER_EMAIL, DEMO_PASSWORDS[REVIEWER_EMAIL])
    page = reviewer.page
    assert page.url.endswith("/review")        # a reviewer lands on their review queue
    assert page.locator(f"a[href^='/review/{rejected}']").count() == 1
    reviewer.shot("review-queue")

    page.goto(f"/review/{rejected}")
    reviewer.shot("review-item", full_page=False)
    page.keyboard.press("r")                   # reject: focuses the feedback first
    assert page.evaluate("document.activeElement.id") == "feedback"
    page.keyboard.type("The answer repeats the myth; re-read the guidelines.")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "Rejected" in page.inner_text(".flashes")
    assert stored(live_site, rejected)["state"] == "rejected"

    page.goto(f"/review/{accepted}")
    with page.expect_navigation():
        page.keyboard.press("a")
    assert stored(live_site, accepted)["state"] == "accepted"

    page.goto(f"/review/{edited}")
    with page.expect_navigation():
        page.keyboard.press("e")               # edit mode: the trainer's answer becomes editable
    page.keyboard.press("2")
    page.click("#feedback")
    page.keyboard.type("Corrected the label.")
    reviewer.shot("review-edit", full_page=False)
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    data = live_site.api("GET", f"/api/v1/reviews/{edited}", "admin").json()
    assert data["state"] == "accepted" and data["response"] == {"label": "false"}
    assert data["original_response"] == {"label": "true"}
    assert not reviewer.errors and not reviewer.dialogs

    trainer = visit("trainer")
    tp = trainer.page
    tp.goto("/my-work?state=rejected")
    row = tp.locator(f"tr:has(a[href='/my-work/{rejected}'])")
    assert "Rejected" in row.inner_text() and "re-read the guidelines" in row.inner_text()
    tp.goto(f"/my-work/{rejected}")
    assert "The answer repeats the myth; re-read the guidelines." in tp.inner_text(".callout")
    trainer.shot("my-work-rejected", full_page=False)
    tp.goto(f"/my-work/{edited}")
    assert "Reviewer's edit" in tp.inner_text("main")

    # rejected work leaves the export; the edit replaces the original
    export = live_site.api("GET", f"/api/v1/projects/{ids['label']}/export", "admin", params={"format": "raw"})
    exported = {json.loads(line)["metadata"]["assignment_id"]: json.loads(line) for line in export.text.splitlines()}
    assert rejected not in exported and exported[edited]["response"] == {"label": "false"}
    assert exported[edited]["metadata"]["review"] == "edited" and exported[edited]["original_response"] is not None


def test_a_manager_sees_progress_and_spend_change(visit, live_site):
    ids = demo_projects(live_site)
    manager = visit("manager")
    page = manager.page
    page.goto("/manage")
    manager.shot("manage-projects")
    page.goto(f"/manage/projects/{ids['sft']}")

    def figures() -> tuple[str, str]:
        return page.inner_text("[data-stat=judgments]"), page.inner_text("[data-stat=spent]")

    judgments_before, spent_before = figures()
    assert page.locator("svg.chart").count() == 2       # throughput and burn-down, drawn on the server
    submit_via_api(live_site, ids["sft"], {"completion": "Yes, in most places."}, wait=1.3)
    page.reload()
    judgments_after, spent_after = figures()
    n_before = int(judgments_before.split("/")[0])
    assert int(judgments_after.split("/")[0]) == n_before + 1

    def money(s):
        return float(re.sub(r"[^0-9.]", "", s))

    assert money(spent_after) > money(spent_before)
    assert "Tom Becker" in page.inner_text("table")
    assert "—" in page.inner_text("table")              # quality columns wait for their provider
    manager.shot("manage-project")
    assert not manager.errors


def test_a_manager_creates_a_project_uploads_items_and_exports(visit, live_site):
    manager = visit("manager")
    page = manager.page
    page.goto("/manage/projects/new")
    page.fill("input[name=name]", "Contract clauses: is it enforceable?")
    page.select_option("select[name=task_type]", "label")
    assert page.is_visible("textarea[name=labels]") and not page.is_visible("textarea[name=rubric_criteria]")
    page.fill("textarea[name=labels]", "enforceable, unenforceable, unclear")
    page.fill("textarea[name=guidelines]", "# Read the clause\n\nDecide under **English law**.")
    page.fill("input[name=languages]", "en")
    page.fill("input[name=budget_usd]", "1200.00")
    manager.shot("manage-new-project")
    with page.expect_navigation():
        page.click("form[data-task-type-form] button[type=submit]")
    assert "created" in page.inner_text(".flashes")
    assert re.search(r"/manage/projects/\d+", page.url), page.url

    # a file with mistakes: every problem is listed with its line, nothing is stored
    bad = "\n".join([json.dumps({"external_id": "c1", "text": "Clause one", "gold": "enforceable"}),
                     json.dumps({"external_id": "c2"}),
                     json.dumps({"external_id": "c3", "text": "Clause three", "gold": "maybe"}),
                     "{not json"])
    page.set_input_files("input[name=file]", files=[{"name": "clauses.jsonl", "mimeType": "application/json",
                                                      "buffer": bad.encode()}])
    page.click("#items button[type=submit]")
    page.wait_for_selector(".problems-box")
    problems = page.inner_text(".problems-box")
    assert "line 4" in problems and "invalid JSON" in problems
    manager.shot("manage-upload-errors", full_page=False)
    good = "\n".join(json.dumps({"external_id": f"c{i}", "text": f"Clause {i}", "gold": "enforceable"})
                     for i in range(1, 4))
    page.set_input_files("input[name=file]", files=[{"name": "clauses.jsonl", "mimeType": "application/json",
                                                      "buffer": good.encode()}])
    page.click("#items button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "Imported 3 items" in page.inner_text(".flashes")
    # a second file with a CSV error names its line
    more = b"external_id,text,gold\nc9,Clause nine,enforceable\nc10,,nope\n"
    page.set_input_files("input[name=file]", files=[{"name": "more.csv", "mimeType": "text/csv", "buffer": more}])
    page.click("#items button[type=submit]")
    page.wait_for_selector(".problems-box")
    assert "line 3" in page.inner_text(".problems-box")

    # exports: only the formats this task type supports, streamed as a download
    formats = page.eval_on_selector_all("#export-form select[name=format] option", "els => els.map(e => e.value)")
    assert formats == ["label", "raw"]
    ids = demo_projects(live_site)
    page.goto(f"/manage/projects/{ids['sft']}")
    page.select_option("#export-form select[name=format]", "sft")
    with page.expect_download() as download:
        page.click("#export-form button[value=now]")
    path = download.value.path()
    with open(path, encoding="utf-8") as exported:
        lines = [json.loads(line) for line in exported]
    assert lines and all(rec["messages"][-1]["role"] == "assistant" for rec in lines)
    # the same export signed: prepared in the background, then a ZIP whose manifest verifies
    with page.expect_navigation():
        page.click("#export form[data-signed-export='sft'] button:not([name=hub])")
    assert "Signed export" in page.inner_text(".flashes")
    wait_for_jobs(live_site, ids["sft"])
    page.goto(f"/manage/projects/{ids['sft']}")
    with page.expect_download() as download:
        page.click("#export a[href^='/manage/exports/']")
    import zipfile

    from expertloop.services.passport import verify

    folder = Path(download.value.path()).parent / "signed-sft"
    zipfile.ZipFile(download.value.path()).extractall(folder)
    result = verify(folder)
    assert result.ok and result.manifest["counts"]["records"] == len(lines), result.problems

    # a project from an uploaded YAML definition
    page.goto("/manage/projects/new")
    page.set_input_files("input[name=definition]", files=[{"name": "p.yaml", "mimeType": "text/yaml", "buffer": (
        b"name: Clinical pairs\ntask_type: preference\noptions: {criteria: [safety]}\noverlap: 2\n")}])
    with page.expect_navigation():
        page.click("form.upload-card button[type=submit]")
    assert "Clinical pairs" in page.inner_text("h1")
    # and one that does not validate says why, field by field
    page.goto("/manage/projects/new")
    page.fill("input[name=name]", "Broken")
    page.select_option("select[name=task_type]", "rubric")
    page.fill("textarea[name=rubric_criteria]", "accuracy | 5-1 | backwards")
    page.click("form[data-task-type-form] button[type=submit]")
    page.wait_for_selector(".problems-box")
    assert "options.criteria[0].scale" in page.inner_text(".problems-box")
    assert page.input_value("input[name=name]") == "Broken"   # what was typed is kept
    assert not manager.errors
