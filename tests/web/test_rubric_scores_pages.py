"""Several answers scored on named attributes (HelpSteer2 style) with the keyboard alone, and the
quality page's agreement per step and between rubric authors, in a real browser."""

from __future__ import annotations

import time

import pytest

from .helpers import stored, submit_via_api, wait_for_jobs

pytestmark = pytest.mark.browser

ATTRS = [{"name": "helpfulness", "scale": [0, 4]}, {"name": "correctness", "scale": [0, 4]}]


def _project(site, task_type: str, items: list[dict], **extra) -> int:
    r = site.api("POST", "/api/v1/projects", "admin", json={
        "name": f"Scores {task_type} {time.monotonic_ns()}", "task_type": task_type,
        "guidelines": "# Guidelines\n\nScore each answer.", **extra})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=items)
    assert r.status_code == 201, r.text
    return pid


def test_a_trainer_scores_several_answers_on_each_attribute_with_the_keyboard(visit, live_site):
    pid = _project(live_site, "rubric", [{"external_id": "hs-1", "prompt": "At what temperature does water boil?",
                                          "responses": [{"text": "100 °C at sea level.", "model": "model-alpha"},
                                                        {"text": "At 50 °C.", "model": "model-beta"}]}],
                   options={"criteria": ATTRS})
    v = visit("trainer")
    page = v.page
    page.goto("/work")
    with page.expect_navigation():
        page.click(f".project-card[data-project-id='{pid}'] .btn-primary")
    aid = int(page.url.rsplit("/", 1)[1].split("?")[0])
    assert page.locator(".rubric-answer").count() == 2
    assert "100 °C at sea level." in page.inner_text(".rubric-answer[data-answer='0']")
    assert "model-alpha" not in page.content()  # model names are withheld
    for key in ("4", "4", "1", "0"):  # answer 1: helpfulness, correctness; then answer 2 (each moves on)
        page.keyboard.press(key)
    v.shot("task-rubric-several", full_page=False)
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "Submitted" in page.inner_text(".flashes"), page.inner_text("main")[:500]
    assert stored(live_site, aid)["response"] == {"scores": [{"helpfulness": 4, "correctness": 4},
                                                             {"helpfulness": 1, "correctness": 0}],
                                                  "comment": None}
    assert not v.errors and not v.dialogs

    reviewer = visit("reviewer")
    reviewer.page.goto(f"/review/{aid}")
    assert reviewer.page.is_checked("input[name='score:1:helpfulness'][value='1']")
    assert reviewer.page.is_checked("input[name='score:0:correctness'][value='4']")
    page.goto(f"/my-work/{aid}")
    assert "At 50 °C." in page.inner_text("main")
    assert not reviewer.errors and not v.errors


def _wait_for(page, url: str, selector: str, seconds: float = 10.0) -> str:
    """The text of ``selector`` once the page (reloaded until then) shows it."""
    deadline = time.monotonic() + seconds
    while True:
        page.goto(url)
        if page.locator(selector).count() or time.monotonic() > deadline:
            return page.inner_text(selector)
        time.sleep(0.5)


def test_the_quality_page_shows_agreement_per_step_and_between_rubric_authors(visit, live_site):
    steps = _project(live_site, "steps", [{"external_id": "s1", "problem": "2 + 2 * 2?",
                                           "steps": ["2 * 2 = 4.", "2 + 4 = 6.", "The answer is 6."]}],
                     overlap=2)
    kenji = live_site.token_for("kenji@demo.expertloop.dev")
    submit_via_api(live_site, steps, {"ratings": [1, 1, 1]})
    submit_via_api(live_site, steps, {"ratings": [1, -1]}, token=kenji)
    authoring = _project(live_site, "rubric_authoring", [{"external_id": "r1", "prompt": "Is tap water safe?",
                                                          "references": ["It depends.", "Never."]}],
                         overlap=2, options={"min_criteria": 2})
    rubric = {"criteria": [{"criterion": "Says it depends", "category": "essential", "meets": [0]},
                           {"criterion": "Says never", "category": "pitfall", "meets": [1]}]}
    mine = submit_via_api(live_site, authoring, rubric)
    submit_via_api(live_site, authoring, rubric, token=kenji)
    for project_id in (steps, authoring):  # the page reads the report the refit job stores
        wait_for_jobs(live_site, project_id)

    manager = visit("manager")
    page = manager.page
    table = _wait_for(page, f"/manage/projects/{steps}/quality", "#step-agreement")
    rows = page.eval_on_selector_all("#step-agreement tbody tr", "rs => rs.map(r => r.dataset.step)")
    assert rows == ["1", "2", "3"] and "100%" in table and "0%" in table
    assert page.eval_on_selector_all("#step-agreement [data-items]", "cs => cs.map(c => c.textContent)") == ["1"] * 3
    manager.shot("quality-step-agreement", full_page=False)
    text = _wait_for(page, f"/manage/projects/{authoring}/quality", "#author-agreement")
    page.locator("#author-agreement").scroll_into_view_if_needed()
    manager.shot("quality-author-agreement", full_page=False)
    assert "1 / 1" in page.inner_text("[data-stat=author-items]")
    assert page.inner_text("[data-stat=author-difference]").strip() == "0.00" and "no model" in text.lower()
    assert not manager.errors

    # a reviewer corrects the marks; the trainer's outcome page shows which references meet what
    edit = {"criteria": [{**rubric["criteria"][0], "meets": [0, 1]}, {**rubric["criteria"][1], "meets": [1]}]}
    r = live_site.api("POST", f"/api/v1/assignments/{mine}/review", "reviewer",
                      json={"verdict": "edit", "feedback": "Both say it depends.", "response": edit})
    assert r.status_code == 200, r.text
    trainer = visit("trainer")
    trainer.page.goto(f"/my-work/{mine}")
    compare = trainer.page.inner_text(".compare")
    assert "met by" in compare.lower() and "reference 1, reference 2" in compare
    assert not trainer.errors

