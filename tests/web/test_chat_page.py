"""The live-chat page in real Chromium against the live server and the test model server: keys
only (m, Ctrl+Enter, 2, r), candidates from the server's job, a rewrite, model text that tries to
inject HTML rendered harmless, a reload that keeps the conversation, then the submit."""

from __future__ import annotations

import time

from tests.web.helpers import stored

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>**bold**"


def _chat_project(site, model_server) -> int:
    r = site.api("POST", "/api/v1/models", "admin", json={"name": "page-chat", "base_url": model_server.base_url,
                                                           "model": "test-model"})
    assert r.status_code in (201, 409), r.text
    r = site.api("POST", "/api/v1/projects", "admin", json={
        "name": "Chat in the browser", "task_type": "chat", "overlap": 1,
        "options": {"model": "page-chat", "candidates_per_turn": 2, "min_turns": 2, "max_turns": 4}})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=[{"scenario": "Plan a **picnic**."}])
    assert r.status_code == 201, r.text
    return pid


def test_a_chat_with_a_rewrite_survives_a_reload(visit, live_site, model_server):
    pid = _chat_project(live_site, model_server)
    lease = live_site.api("POST", f"/api/v1/projects/{pid}/assignments/next", "trainer")
    assert lease.status_code == 200, lease.text
    aid = lease.json()["assignment_id"]
    v = visit("trainer")
    page = v.page
    page.goto(f"/tasks/{aid}")
    page.wait_for_selector("text=Write the first message")
    assert page.inner_html(".chat-scenario").count("<strong>picnic</strong>") == 1

    page.keyboard.press("m")
    page.keyboard.type("Where should we go?")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector('[data-candidate="0:1"]', timeout=20_000)
    assert "test-model answer 1: Where should we go?" in page.inner_text('[data-candidate="0:1"]')
    assert page.input_value("[data-chat-input]") == ""                   # sent, so the box is empty

    page.keyboard.press("Escape")                                        # leave the message box
    page.keyboard.press("2")                                             # choose answer B
    page.wait_for_selector('[data-chat-choose="0:1"][aria-pressed="true"]')
    page.keyboard.press("r")                                             # rewrite it
    page.wait_for_selector('[data-rewrite-input="0"]')
    page.fill('[data-rewrite-input="0"]', "Go to the **park** by the river.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector('[data-rewrite="0"] strong')
    assert page.inner_text('[data-rewrite="0"] strong') == "park"

    page.keyboard.press("m")
    page.keyboard.type(f"And food? [[reply:{HOSTILE}]]")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector('[data-candidate="1:0"]', timeout=20_000)
    assert page.locator("[data-chat-log] img, [data-chat-log] script, [data-chat-log] [onerror]").count() == 0
    assert page.inner_text('[data-candidate="1:0"] strong') == "bold"
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    page.wait_for_selector('[data-chat-choose="1:0"][aria-pressed="true"]')

    page.reload()                                                        # the server kept it all
    page.wait_for_selector('[data-rewrite="0"] strong')
    assert page.locator("[data-answers]").count() == 2
    assert page.get_attribute('[data-chat-choose="1:0"]', "aria-pressed") == "true"

    page.keyboard.press("Control+Enter")                                 # submit the task
    page.wait_for_url(lambda url: f"/tasks/{aid}" not in url, timeout=20_000)
    deadline = time.monotonic() + 10
    while stored(live_site, aid)["state"] == "leased" and time.monotonic() < deadline:
        time.sleep(0.2)
    response = stored(live_site, aid)["response"]
    assert [t["user"] for t in response["turns"]] == ["Where should we go?", f"And food? [[reply:{HOSTILE}]]"]
    assert response["turns"][0]["rewrite"] == "Go to the **park** by the river."
    assert response["turns"][0]["chosen"] == 1 and response["turns"][1]["chosen"] == 0
    page.goto(f"/my-work/{aid}")                                         # the outcome shows the conversation
    assert page.locator(".chat-readonly .chat-rewrite strong").inner_text() == "park"
    assert page.locator(".chat-readonly img, .chat-readonly script").count() == 0
    assert v.dialogs == [] and v.errors == []


def test_an_ai_draft_is_discarded_in_the_browser(visit, live_site, model_server):
    r = live_site.api("POST", "/api/v1/models", "admin", json={"name": "page-assist", "base_url": model_server.base_url,
                                                                "model": "test-model"})
    assert r.status_code in (201, 409), r.text
    r = live_site.api("POST", "/api/v1/projects", "admin", json={
        "name": "Answers with an AI draft", "task_type": "sft", "overlap": 1,
        "options": {"ai_assistance": {"model": "page-assist", "kind": "draft"}}})
    pid = r.json()["id"]
    live_site.api("POST", f"/api/v1/projects/{pid}/items", "admin", json=[{"prompt": "Name a river."}])
    deadline = time.monotonic() + 20                                     # the server's job thread makes it
    while time.monotonic() < deadline:
        jobs = live_site.api("GET", "/api/v1/jobs", "admin", params={"project_id": pid}).json()
        if any(j["kind"] == "ai_suggestions" and j["state"] == "done" for j in jobs):
            break
        time.sleep(0.3)
    aid = live_site.api("POST", f"/api/v1/projects/{pid}/assignments/next", "trainer").json()["assignment_id"]
    v = visit("trainer")
    page = v.page
    page.goto(f"/tasks/{aid}")
    assert page.input_value("textarea[name=completion]") == "test-model answer 0: Name a river."
    page.click("[data-ai-discard]")
    assert page.input_value("textarea[name=completion]") == ""
    assert "discarded" in page.inner_text("[data-ai-suggestion]")
    page.fill("textarea[name=completion]", "The Danube.")
    page.click("button[name=then][value=stop]")
    page.wait_for_url(lambda url: f"/tasks/{aid}" not in url)
    record = stored(live_site, aid)["ai_assistance"]
    assert record["action"] == "discarded" and record["model"] == "test-model"
    assert v.errors == []
