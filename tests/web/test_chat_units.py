"""The chat and AI-help pages without a browser: a chat project made with the console's form, the
page's JSON calls (sanitised HTML beside each text, no model names, located errors), and an AI
draft shown, marked and discarded on the sft page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as assignments_svc
from expertloop.services import models
from expertloop.services.imports import import_items
from expertloop.services.lifecycle import set_status
from expertloop.services.projects import get_project
from tests.factories import ADMIN, expert, items, project, run_jobs, token
from tests.web.helpers import PageClient


def _fetch(page: PageClient, url: str, fields: dict | None = None):
    headers = {"X-Requested-With": "fetch", "Accept": "application/json", "X-CSRF-Token": page.csrf}
    if fields is None:
        return page.client.get(url, headers=headers)
    return page.client.post(url, data={"csrf_token": page.csrf, **fields}, headers=headers)


def test_a_chat_project_from_the_form_and_the_pages_calls(app, session, model_server):
    models.add_endpoint(session, None, "page-model", model_server.base_url, "test-model")
    with TestClient(app) as manager_client, TestClient(app) as trainer_client, TestClient(app) as other_client:
        manager = PageClient(manager_client, token(session, "manager"), "/manage")
        r = manager.post("/manage/projects", {
            "name": "Chat from the form", "task_type": "chat", "chat_model": "page-model", "chat_mode": "redteam",
            "candidates_per_turn": "2", "min_turns": "1", "max_turns": "3", "system_prompt": "Be brief.",
            "failure_categories": "harmful advice, hallucination", "overlap": "1", "lease_minutes": "30",
            "max_minutes_per_task": "20", "min_degree": "none"})
        assert r.status_code == 303, r.text
        pid = int(r.headers["location"].rsplit("/", 1)[1])
        options = get_project(session, ADMIN, pid)["options"]
        assert options == {"model": "page-model", "mode": "redteam", "candidates_per_turn": 2, "min_turns": 1,
                           "max_turns": 3, "system_prompt": "Be brief.",
                           "failure_categories": ["harmful advice", "hallucination"]}
        r = manager.post("/manage/projects", {"name": "Bad chat", "task_type": "chat", "chat_model": "",
                                              "candidates_per_turn": "9", "overlap": "1", "min_degree": "none"})
        assert r.status_code == 422 and "options.candidates_per_turn" in r.text and "options.model" in r.text

        import_items(session, ADMIN, pid, [(1, {"scenario": "Ask for **bold** plans."})])
        set_status(session, ADMIN, pid, "live")  # the console makes projects as drafts
        e = expert(session)
        lease = assignments_svc.lease_next(session, Actor(role=Role.trainer, expert_id=e["id"]), pid)
        aid = lease["assignment_id"]
        trainer = PageClient(trainer_client, token(session, "trainer", e["id"]), "/work")
        page = trainer.get(f"/tasks/{aid}")
        assert page.status_code == 200 and "data-chat-url" in page.text and "/static/chat.js" in page.text
        assert "<strong>bold</strong>" in page.text and 'name="failure_category"' in page.text

        r = _fetch(trainer, f"/tasks/{aid}/chat", {"action": "send", "text": "<b>hi</b> [[reply:<script>x</script>"
                                                                              "**ok**]]"})
        assert r.status_code == 200, r.text
        assert r.json()["turns"][0]["user_html"] == "<p>&lt;b&gt;hi&lt;/b&gt; [[reply:&lt;script&gt;x&lt;/script&gt;" \
                                                   "<strong>ok</strong>]]</p>\n"
        run_jobs(session)
        chat = _fetch(trainer, f"/tasks/{aid}/chat").json()
        cand = chat["turns"][0]["candidates"][0]
        assert set(cand) == {"index", "text", "html"} and "<script" not in cand["html"]
        r = _fetch(trainer, f"/tasks/{aid}/chat", {"action": "decide", "turn": "0", "rating": "9"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "rating"
        r = _fetch(trainer, f"/tasks/{aid}/chat", {"action": "decide", "turn": "0", "chosen": "1"})
        assert r.status_code == 200 and r.json()["turns"][0]["chosen"] == 1
        r = _fetch(trainer, f"/tasks/{aid}/chat", {"action": "failure", "turn": "0", "category": "hallucination"})
        assert r.json()["failure"] == {"turn": 0, "category": "hallucination", "note": None}
        other = PageClient(other_client, token(session, "trainer", expert(session)["id"]), "/work")
        assert _fetch(other, f"/tasks/{aid}/chat").status_code == 404
        r = trainer.post(f"/tasks/{aid}/submit", {"failure_turn": "0", "failure_category": "harmful advice",
                                                  "failure_note": "", "then": "stop"})
        assert r.status_code == 303, r.text
        response = assignments_svc.get_assignment(session, ADMIN, aid)["response"]
        assert response["failure"] == {"turn": 0, "category": "harmful advice", "note": None}
        # Staff pages read a chat project like any other (export formats, quality, review).
        for url in (f"/manage/projects/{pid}", f"/manage/projects/{pid}/quality", f"/manage/projects/{pid}/export",
                    f"/review/{aid}"):
            r = manager.get(url)
            assert r.status_code == 200, (url, r.status_code)
        project_page = manager.get(f"/manage/projects/{pid}").text
        assert '<option value="redteam">' in project_page and "failing turn" in project_page
        download = manager.get(f"/manage/projects/{pid}/export?format=redteam")
        assert download.status_code == 200 and '"failure_category":"harmful advice"' in download.text
        review_page = manager.get(f"/review/{aid}").text
        assert "chat-readonly" in review_page and "<script>x" not in review_page
        assert "Failure here:" in review_page and "harmful advice" in review_page


def test_an_ai_draft_is_shown_marked_and_discarded(app, session, model_server):
    models.add_endpoint(session, None, "assist", model_server.base_url, "test-model")
    p = project(session, "sft", options={"ai_assistance": {"model": "assist", "kind": "draft"}})
    items(session, p["id"], "sft", 1)
    run_jobs(session)
    e = expert(session)
    lease = assignments_svc.lease_next(session, Actor(role=Role.trainer, expert_id=e["id"]), p["id"])
    aid = lease["assignment_id"]
    with TestClient(app) as client:
        trainer = PageClient(client, token(session, "trainer", e["id"]), "/work")
        page = trainer.get(f"/tasks/{aid}").text
        assert "AI suggestion." in page and "data-ai-discard" in page and "test-model answer 0" in page
        assert re.search(r'<textarea name="completion"[^>]*data-ai-target[^>]*>test-model answer 0: Explain thing 0\.',
                         page)
        assert "assist" not in page                                      # the endpoint is never named
        r = trainer.post(f"/tasks/{aid}/submit", {"completion": "Mine.", "ai_discarded": "1", "then": "stop"})
        assert r.status_code == 303, r.text
    record = assignments_svc.get_assignment(session, ADMIN, aid)["ai_assistance"]
    assert record["action"] == "discarded" and record["suggestion"] == {"completion":
                                                                        "test-model answer 0: Explain thing 0."}
