"""Step labels and agent trajectories in a real browser: a trainer works each with the keyboard
alone, a reviewer sees the answer, and the trainer's outcome page summarises an edit."""

from __future__ import annotations

import pytest

from .helpers import demo_projects, stored, wait_for_jobs
from .test_trainer_pages import start_by_keyboard, submit_by_keyboard

pytestmark = pytest.mark.browser


def test_a_trainer_rates_steps_with_the_keyboard(visit, live_site):
    v = visit("trainer")
    page = v.page
    aid = start_by_keyboard(v, demo_projects(live_site)["steps"])
    n = page.locator(".step-row").count()
    assert n >= 3
    page.keyboard.press("1")          # step 1: +1, and on to step 2
    page.keyboard.press("3")          # step 2: -1; later steps need no rating
    page.keyboard.press("c")          # the correct step
    page.keyboard.type("Check the claim against a source first.")
    page.keyboard.press("Escape")
    v.shot("task-steps", full_page=False)
    submit_by_keyboard(v)
    assert stored(live_site, aid)["response"] == {"ratings": [1, -1] + [None] * (n - 2),
                                                  "correction": "Check the claim against a source first."}
    assert not v.errors and not v.dialogs

    # the reviewer sees the ratings as given; the quality report names the step of each part
    reviewer = visit("reviewer")
    reviewer.page.goto(f"/review/{aid}")
    assert reviewer.page.is_checked("input[name='rating-1'][value='-1']")
    assert reviewer.page.input_value("textarea[name=correction]") == "Check the claim against a source first."
    manager = visit("manager")
    wait_for_jobs(live_site, demo_projects(live_site)['steps'])  # the page reads the refit job's report
    manager.page.goto(f"/manage/projects/{demo_projects(live_site)['steps']}/quality")
    assert "step" in manager.page.inner_text("#consensus thead").lower()
    assert not reviewer.errors and not manager.errors


def test_a_trainer_grades_an_agent_run_and_sees_the_reviewers_edit(visit, live_site):
    v = visit("trainer")
    page = v.page
    aid = start_by_keyboard(v, demo_projects(live_site)["trajectory"])
    names = page.eval_on_selector_all("input[type=radio][value=correct]", "els => els.map(e => e.name)")
    agent = [int(name.split("-")[1]) for name in names]
    total = page.locator(".traj-step").count()
    for _ in agent[:-1]:
        page.keyboard.press("1")      # correct, and on to the next of the agent's steps
    page.keyboard.press("2")          # the last one is incorrect…
    page.keyboard.press("k")          # …back to it, to say why
    page.keyboard.press("n")
    page.keyboard.type("Not what the tool returned.")
    page.keyboard.press("Escape")
    page.keyboard.press("j")          # failure modes: 3 = hallucinated result
    page.keyboard.press("3")
    page.keyboard.press("j")          # verdict
    page.keyboard.press("f")
    page.keyboard.press("Enter")      # the rationale
    page.keyboard.type("The final answer contradicts the tool output.")
    v.shot("task-trajectory", full_page=False)
    submit_by_keyboard(v)
    expected_steps = [None] * total
    for i in agent[:-1]:
        expected_steps[i] = {"label": "correct"}
    expected_steps[agent[-1]] = {"label": "incorrect", "note": "Not what the tool returned."}
    response = stored(live_site, aid)["response"]
    assert response == {"steps": expected_steps, "first_failure": agent[-1], "failure_modes": ["hallucinated result"],
                        "verdict": "failure", "rationale": "The final answer contradicts the tool output."}

    # a reviewer's edit: the outcome page shows both answers as step tables
    edit = {**response, "verdict": "partial", "first_failure": None,
            "steps": [None if e is None else {"label": "correct"} for e in expected_steps]}
    r = live_site.api("POST", f"/api/v1/assignments/{aid}/review", "reviewer",
                      json={"verdict": "edit", "feedback": "The run was fine.", "response": edit})
    assert r.status_code == 200, r.text
    page.goto(f"/my-work/{aid}")
    text = page.inner_text(".compare")
    assert "Not what the tool returned." in text and "hallucinated result" in text
    assert page.inner_text(".compare .card-accent").count("Correct") == len(agent) and "Partial" in text
    v.shot("outcome-trajectory", full_page=False)
    assert not v.errors and not v.dialogs
    manager = visit("manager")
    wait_for_jobs(live_site, demo_projects(live_site)['trajectory'])  # the page reads the refit job's report
    manager.page.goto(f"/manage/projects/{demo_projects(live_site)['trajectory']}/quality")
    consensus = manager.page.inner_text("#consensus").lower()
    assert "step" in consensus and "verdict" in consensus and "partial" in consensus
    assert not manager.errors


def test_a_signed_preference_scale_is_scored_relative_to_the_answers_shown(visit, live_site):
    projects = live_site.api("GET", "/api/v1/projects", "admin").json()
    pid = next(p["id"] for p in projects if p["name"].startswith("[demo] TruthfulQA on a signed scale"))
    v = visit("trainer")
    page = v.page
    aid = start_by_keyboard(v, pid)
    first_shown = stored(live_site, aid)["presentation"]["order"][0]
    assert page.locator("input[name=score]").count() == 7 and page.locator("input[name=choice]").count() == 0
    page.keyboard.press("2")          # the second option from the left: −2, answer A (shown first) better
    page.keyboard.press("Enter")
    page.keyboard.type("A is the true one.")
    v.shot("task-preference-signed", full_page=False)
    submit_by_keyboard(v)
    score = -2 if first_shown == 0 else 2
    assert stored(live_site, aid)["response"] == {"score": score, "choice": first_shown,
                                                  "rationale": "A is the true one."}
    assert not v.errors and not v.dialogs


def test_an_expert_writes_a_rubric_with_the_keyboard(visit, live_site):
    pid = demo_projects(live_site)["rubric_authoring"]
    v = visit("trainer")
    page = v.page
    page.goto("/work")
    with page.expect_navigation():
        page.click(f".project-card[data-project-id='{pid}'] .btn-primary")
    aid = int(page.url.rsplit("/", 1)[1].split("?")[0])
    assert page.locator(".md.reference").count() >= 1  # the reference answers are shown
    for text, key in (("Names Hong Kong, Bangkok or London", "e"),
                      ("Claims New York gets more arrivals than Paris", "p"),
                      ("Says which year the figures are from", "o")):
        page.keyboard.press("Enter")  # write the selected criterion…
        page.keyboard.type(text)
        page.keyboard.press("Escape")
        page.keyboard.press(key)      # …its category, and on to the next
    page.keyboard.press("k")
    page.keyboard.press("x")          # the third needs outside knowledge
    v.shot("task-rubric-authoring", full_page=False)
    submit_by_keyboard(v)
    assert stored(live_site, aid)["response"] == {"criteria": [
        {"criterion": "Names Hong Kong, Bangkok or London", "category": "essential", "weight": 5,
         "checkable": True},
        {"criterion": "Claims New York gets more arrivals than Paris", "category": "pitfall", "weight": -2,
         "checkable": True},
        {"criterion": "Says which year the figures are from", "category": "optional", "weight": 1,
         "checkable": False}], "notes": None}
    assert not v.errors and not v.dialogs
