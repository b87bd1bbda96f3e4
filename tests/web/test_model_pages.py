"""Models in the console, in real Chromium against the live server and the test model server: an
admin registers an endpoint (a key variable that is no key is refused, naming the field) and
tests it; a manager may list and test but not register; a manager names candidate models for a
preference project, follows the generation job, sees the answers and which endpoint wrote them,
runs the generation again for the item a model refused, and runs a judge."""

from __future__ import annotations

import secrets

from tests.web.helpers import wait_for_jobs
from tests.web.test_console_pages import WIDTHS, fits

HOSTILE = "<img src=x onerror=window.__xss=1><script>window.__xss=2</script>**bold**"


def _endpoint(site, model_server, name: str = "page-gen") -> str:
    r = site.api("POST", "/api/v1/models", "admin", json={"name": name, "base_url": model_server.base_url,
                                                          "model": "test-model"})
    assert r.status_code in (201, 409), r.text
    return name


def _state(page, selector: str, attribute: str, want: str, timeout: float = 30_000) -> None:
    """Wait, across the page's own refreshes, until ``selector`` has ``attribute == want``."""
    page.locator(f'{selector}[{attribute}="{want}"]').first.wait_for(timeout=timeout)


def test_an_admin_registers_an_endpoint_and_tests_it(visit, live_site, model_server):
    name = f"reg-{secrets.token_hex(3)}"
    v = visit("admin")
    page = v.page
    page.goto("/manage/models")
    form = page.locator("form:has([data-register])")  # each listed endpoint has its own forms
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=base_url]").fill(model_server.base_url)
    form.locator("input[name=model]").fill("test-model")
    form.locator("input[name=api_key_env]").fill("EXPERTLOOP_DATABASE_URL")      # not a key: refused, nothing stored
    form.locator("input[name=max_concurrency]").fill("0")
    with page.expect_navigation():
        page.click("[data-register]")
    problems = page.inner_text(".problems")
    assert "api_key_env" in problems and "max_concurrency" in problems
    assert form.locator("input[name=name]").input_value() == name                  # what was typed is kept
    assert page.locator(f'[data-endpoint="{name}"]').count() == 0
    form.locator("input[name=api_key_env]").fill("")
    form.locator("input[name=max_concurrency]").fill("2")
    with page.expect_navigation():
        page.click("[data-register]")
    row = page.locator(f'[data-endpoint="{name}"]')
    assert row.count() == 1 and "test-model" in row.inner_text() and model_server.base_url in row.inner_text()
    assert row.locator('[data-last-test="none"]').count() == 1
    v.shot("manage-models")

    with page.expect_navigation():
        page.click(f'[data-test-model="{name}"]')                         # a job: the page follows it
    _state(page, f'[data-endpoint="{name}"] td', "data-last-test", "ok")
    row = page.locator(f'[data-endpoint="{name}"]')
    assert "answered" in row.inner_text() and row.locator('[data-calls="1"]').count() == 1
    listed = {e["name"]: e for e in live_site.api("GET", "/api/v1/models", "admin").json()}
    assert listed[name]["last_test"]["ok"] is True and listed[name]["calls"] == 1
    assert not v.errors


def test_a_manager_lists_and_tests_but_cannot_register(visit, live_site, model_server):
    name = _endpoint(live_site, model_server)
    v = visit("manager")
    page = v.page
    page.goto("/manage/models")
    assert page.locator(f'[data-endpoint="{name}"]').count() == 1
    assert page.locator("form[data-register-model]").count() == 0 and page.locator("[data-admins-register]").count()
    status = page.evaluate("""async (csrf) => (await fetch('/manage/models', {method: 'POST', body: new URLSearchParams(
        {csrf_token: csrf, name: 'sneaky', base_url: 'http://127.0.0.1:9/v1', model: 'm'})})).status""", v.csrf())
    assert status == 403
    assert "sneaky" not in {e["name"] for e in live_site.api("GET", "/api/v1/models", "admin").json()}
    with page.expect_navigation():
        page.click(f'[data-test-model="{name}"]')                         # testing is allowed
    assert "queued" in page.inner_text(".flashes")
    trainer = visit("trainer")
    trainer.page.goto("/manage/models")
    assert trainer.page.locator("[data-endpoint]").count() == 0          # not for trainers


def test_a_manager_sets_candidates_generates_and_runs_a_judge(visit, live_site, model_server):
    name = _endpoint(live_site, model_server)
    r = live_site.api("POST", "/api/v1/projects", "manager", json={
        "name": f"Generated pairs {secrets.token_hex(2)}", "task_type": "preference", "overlap": 1,
        "guidelines": "Pick the better answer."})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    v = visit("manager")
    page = v.page
    page.goto(f"/manage/projects/{pid}")
    with page.expect_navigation():
        page.click("a[data-models]")
    page.check(f'[data-candidate-model="{name}"]')
    page.fill("input[name=candidates_temperature]", "hot")
    with page.expect_navigation():
        page.click("[data-save-models]")
    assert "candidates.temperature" in page.inner_text(".problems")      # named, nothing saved
    assert page.is_checked(f'[data-candidate-model="{name}"]')
    page.fill("input[name=candidates_temperature]", "0.7")
    with page.expect_navigation():
        page.click("[data-save-models]")
    assert f"candidates now from {name}" in page.inner_text(".flashes")
    project = live_site.api("GET", f"/api/v1/projects/{pid}", "manager").json()
    assert project["candidates"]["models"] == [name] and project["candidates"]["temperature"] == 0.7

    r = live_site.api("POST", f"/api/v1/projects/{pid}/items", "manager", json=[
        {"external_id": "sky", "prompt": "Why is the sky blue?"},
        {"external_id": "refused", "prompt": "This one is refused [[error:400]]"},
        {"external_id": "hostile", "prompt": f"Say it [[reply:{HOSTILE}]]"}])
    assert r.status_code == 201 and r.json()["awaiting_candidates"] == 3, r.text
    page.reload()
    _state(page, "[data-job-kind=generate_candidates]", "data-state", "done")
    assert "2 items answered, 1 refused" in page.inner_text("[data-job-kind=generate_candidates] [data-progress]")
    assert page.inner_text('[data-stat="failed"]') == "1" and page.inner_text('[data-stat="open"]') == "2"
    hostile = page.locator('[data-generation="open"]').first                # model text is sanitised markdown
    assert hostile.locator("[data-answer] strong").all_inner_texts() == ["bold", "bold"]
    assert page.locator("#latest img, #latest script, #latest [onerror]").count() == 0
    assert page.evaluate("window.__xss") is None
    sky = page.locator('[data-generation="open"]').nth(1)
    assert "test-model answer 0: Why is the sky blue?" in sky.inner_text()
    assert "test-model answer 1: Why is the sky blue?" in sky.inner_text()
    assert sky.locator("[data-answer] .badge").all_inner_texts() == [name, name]
    assert page.locator('[data-generation="failed"]').count() == 1
    v.shot("manage-project-models")

    with page.expect_navigation():
        page.click("[data-generate]")                                    # run again: the refused one retries
    assert "1 item wait for a model, 1 of them refused before and tried again" in page.inner_text(".flashes")
    assert page.locator("[data-job-kind=generate_candidates]").count() == 2
    wait_for_jobs(live_site, pid)
    page.reload()
    assert page.locator("[data-job-kind=generate_candidates][data-state=done]").count() == 2

    page.select_option("[data-judge-model]", name)
    with page.expect_navigation():
        page.click("[data-run-judge]")
    assert f"{name} judges the items" in page.inner_text(".flashes")
    _state(page, "[data-job-kind=judge_items]", "data-state", "done")
    assert f"{name} judged 2 items" in page.inner_text("[data-job-kind=judge_items] [data-progress]")
    assert not v.errors


def test_the_model_pages_fit_a_360_px_phone_and_a_desktop(visit, live_site, model_server):
    """The staff menu, one link longer with Models, wraps instead of pushing "Sign out" off a
    1280 px screen."""
    _endpoint(live_site, model_server)
    pid = next(p["id"] for p in live_site.api("GET", "/api/v1/projects", "admin").json()
               if p["task_type"] == "preference")
    for size in ("phone", "desktop"):
        for role in ("admin", "manager"):
            v = visit(role, viewport=WIDTHS[size])
            for path in ("/manage/models", f"/manage/projects/{pid}/models", "/manage"):
                v.page.goto(path)
                fits(v)
                box = v.page.locator(".who button[type=submit]").bounding_box()
                assert box and box["x"] + box["width"] <= WIDTHS[size]["width"], (size, path, box)
            assert not v.errors
