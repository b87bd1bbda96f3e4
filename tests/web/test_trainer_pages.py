"""A trainer works through one task of every type with the keyboard alone, in a real browser."""

from __future__ import annotations

import re

import pytest

from .helpers import demo_projects, stored, wait_until

pytestmark = pytest.mark.browser


def start_by_keyboard(v, project_id: int) -> int:
    """From the projects page, press the project's number; returns the leased assignment id."""
    page = v.page
    page.goto("/work")
    key = page.get_attribute(f".project-card[data-project-id='{project_id}'] [data-hotkey]", "data-hotkey")
    with page.expect_navigation():
        page.keyboard.press(key)
    m = re.search(r"/tasks/(\d+)", page.url)
    assert m, page.url
    return int(m.group(1))


def submit_by_keyboard(v) -> None:
    with v.page.expect_navigation():
        v.page.keyboard.press("Control+Enter")
    assert "Submitted" in v.page.inner_text(".flashes"), v.page.inner_text("main")[:500]


def test_a_trainer_completes_every_task_type_with_the_keyboard(visit, live_site):
    v = visit("trainer")
    ids = demo_projects(live_site)
    assert set(ids) == {"sft", "preference", "ranking", "factcheck", "rubric", "label", "steps", "trajectory",
                        "rubric_authoring"}
    v.shot("trainer-projects", full_page=False)
    page = v.page

    # preference: 1 = the answer shown first, 3 = much better, criteria 5 and 4, rationale
    aid = start_by_keyboard(v, ids["preference"])
    shown = page.eval_on_selector_all("input[name=choice]", "els => els.map(e => e.value)")
    v.shot("task-preference", full_page=False)
    for key in ("1", "3", "5", "4", "Enter"):
        page.keyboard.press(key)
    page.keyboard.type("Answer A is the true one.")
    submit_by_keyboard(v)
    resp = stored(live_site, aid)["response"]
    assert resp == {"choice": int(shown[0]), "strength": 3, "criteria": {"truthfulness": 5, "clarity": 4},
                    "rationale": "Answer A is the true one."}

    # factcheck: r = refuted, e = evidence, c = correction
    aid = start_by_keyboard(v, ids["factcheck"])
    page.keyboard.press("r")
    page.keyboard.press("e")
    page.keyboard.type("https://en.wikipedia.org/wiki/List_of_common_misconceptions")
    page.keyboard.press("Escape")
    page.keyboard.press("c")
    page.keyboard.type("The opposite is true.")
    v.shot("task-factcheck", full_page=False)
    submit_by_keyboard(v)
    claims = stored(live_site, aid)["response"]["claims"]
    assert claims[0] == {"verdict": "refuted", "evidence": ["https://en.wikipedia.org/wiki/List_of_common_misconceptions"],
                         "correction": "The opposite is true."}

    # label: 2 = the second label
    aid = start_by_keyboard(v, ids["label"])
    v.shot("task-label", full_page=False)
    page.keyboard.press("2")
    submit_by_keyboard(v)
    assert stored(live_site, aid)["response"] == {"label": "false"}

    # sft: the editor has focus; the preview renders markdown as you type
    aid = start_by_keyboard(v, ids["sft"])
    page.keyboard.type("**Tap water** is safe to drink in most developed countries.")
    page.wait_for_selector("#answer-preview strong")
    v.shot("task-sft", full_page=False)
    submit_by_keyboard(v)
    assert stored(live_site, aid)["response"] == {
        "completion": "**Tap water** is safe to drink in most developed countries."}

    # ranking: the first answer has focus; Shift+Down moves it to second place, 4 puts it last
    aid = start_by_keyboard(v, ids["ranking"])
    shown = page.eval_on_selector_all(".rank-card", "els => els.map(e => Number(e.dataset.index))")
    page.keyboard.press("Shift+ArrowDown")
    assert page.eval_on_selector_all(".rank-card", "els => els.map(e => Number(e.dataset.index))") == \
        [shown[1], shown[0], *shown[2:]]
    page.keyboard.press("j")      # the next answer (now third place)…
    page.keyboard.press("1")      # …goes to the top
    expected = [shown[2], shown[1], shown[0], *shown[3:]]
    assert page.eval_on_selector_all(".rank-card", "els => els.map(e => Number(e.dataset.index))") == expected
    v.shot("task-ranking", full_page=False)
    submit_by_keyboard(v)
    assert stored(live_site, aid)["response"] == {"order": expected}

    # rubric: 4 then 5 (each answer moves to the next criterion), then submit
    aid = start_by_keyboard(v, ids["rubric"])
    page.keyboard.press("4")
    page.keyboard.press("5")
    v.shot("task-rubric", full_page=False)
    submit_by_keyboard(v)
    assert stored(live_site, aid)["response"] == {"scores": {"truthfulness": 4, "informativeness": 5},
                                                  "comment": None}

    page.goto("/my-work")
    assert page.locator("#my-tasks tbody tr").count() >= 6
    assert "Awaiting review" in page.inner_text("#my-tasks")
    v.shot("my-work")
    assert not v.errors and not v.dialogs


def test_the_editor_has_focus_when_the_page_is_ready_so_no_keystroke_is_lost(visit, live_site):
    """The browser applies ``autofocus`` at its next rendering step, which can come after the
    page is ready: a trainer (or a test) typing at once lost the first keystroke to the page.
    The page focuses its ``autofocus`` field itself, before it says it is ready."""
    v = visit("trainer")
    page = v.page
    page.add_init_script("""document.addEventListener("DOMContentLoaded", () => {
      window.focusedWhenReady = document.activeElement ? document.activeElement.tagName : null;
    });""")
    aid = start_by_keyboard(v, demo_projects(live_site)["sft"])
    assert page.evaluate("window.focusedWhenReady") == "TEXTAREA"
    assert live_site.api("POST", f"/api/v1/assignments/{aid}/release", "trainer").status_code == 200


def test_a_slow_preview_of_earlier_text_never_replaces_a_newer_one(visit, live_site):
    """Previews are rendered by the server and can come back out of order (a slow server, a
    loaded machine): only the answer to the newest request is shown. The first preview request
    is held back 1.5 s here, so it returns after the second."""
    v = visit("trainer")
    page = v.page
    page.add_init_script("""(() => {
      const fetch0 = window.fetch; let previews = 0;
      window.fetch = (url, opts) => {
        const answer = fetch0(url, opts);
        if (!String(url).includes("/preview") || previews++ > 0) return answer;
        return answer.then((r) => new Promise((done) => setTimeout(() => done(r), 1500)));
      };
    })();""")
    aid = start_by_keyboard(v, demo_projects(live_site)["sft"])
    page.keyboard.type("Tap water")
    page.wait_for_timeout(400)        # the first preview is asked for (and held back)
    page.keyboard.type(" is **safe**")
    page.wait_for_selector("#answer-preview strong")
    page.wait_for_timeout(2000)       # the held-back answer has arrived by now
    assert page.inner_html("#answer-preview").count("<strong>safe</strong>") == 1
    assert live_site.api("POST", f"/api/v1/assignments/{aid}/release", "trainer").status_code == 200


def test_guidelines_shortcuts_draft_heartbeat_and_skip(visit, live_site):
    v = visit("trainer")
    ids = demo_projects(live_site)
    page = v.page
    aid = start_by_keyboard(v, ids["sft"])

    # the answer editor takes focus by itself (autofocus lands after load); leave it so
    # that shortcuts work again
    wait_until(page, "document.activeElement === document.querySelector('[autofocus]')")
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.wait_for_selector("dialog#guidelines[open]", timeout=5000)
    assert "Write the ideal answer" in page.inner_text("dialog#guidelines")
    v.shot("task-guidelines", full_page=False)
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog#guidelines[open]", state="detached", timeout=5000)
    page.keyboard.press("?")
    page.wait_for_selector("dialog#shortcuts[open]", timeout=5000)
    page.keyboard.press("Escape")

    # the lease timer counts down; a heartbeat (POST with the CSRF header) extends the lease
    assert re.match(r"^\d+:\d\d$", page.inner_text(".timer-value"))
    beat = page.evaluate("""async (url) => {
        const csrf = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch(url, {method: 'POST', headers: {'X-CSRF-Token': csrf, 'X-Requested-With': 'fetch'}});
        return [r.status, await r.json()];
    }""", f"/tasks/{aid}/heartbeat")
    assert beat[0] == 200 and beat[1]["assignment_id"] == aid and beat[1]["lease_expires_at"].endswith("Z")

    # a draft survives a reload
    page.click("textarea[name=completion]")
    page.keyboard.type("A draft that must not be lost.")
    wait_until(page, f"() => localStorage.getItem('expertloop:draft:{aid}') !== null")
    page.reload()
    assert page.input_value("textarea[name=completion]") == "A draft that must not be lost."
    assert page.is_visible("[data-draft-banner]")

    # skip (Shift+S): the item is released, the next one is leased, the draft is gone
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("Shift+S")
    m = re.search(r"/tasks/(\d+)", page.url)
    assert m and int(m.group(1)) != aid
    assert "Skipped" in page.inner_text(".flashes")
    assert page.evaluate(f"localStorage.getItem('expertloop:draft:{aid}')") is None
    assert stored(live_site, aid)["state"] == "released"
    assert not v.errors and not v.dialogs


def test_nothing_left_and_tablet_layout(visit, live_site):
    # a project with a single item: after it is done, the trainer is told nothing is left
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": "One-item labels", "task_type": "label", "options": {"labels": ["yes", "no"]}})
    pid = r.json()["id"]
    live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=[{"external_id": "only", "text": "Only one"}])
    v = visit("trainer", viewport={"width": 820, "height": 1180})  # a tablet, portrait
    page = v.page
    page.goto("/work")
    with page.expect_navigation():
        page.click(f"form[action='/work/projects/{pid}/next'] button")
    v.shot("task-label-tablet", full_page=False)
    # usable at tablet width: the answer panel is not cut off
    width = page.evaluate("document.querySelector('.task-main').getBoundingClientRect().right")
    assert width <= 820
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "Nothing left for you here" in page.inner_text("main")
    assert not v.errors
