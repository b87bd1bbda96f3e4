"""Live chat over the API against the test model server: candidates per turn from a job, choose,
rate, rewrite, regenerate, edit an earlier turn, a model error kept with the trainer's text, the
submit built from the server's conversation, and the sft / preference / redteam exports loaded
back with ``datasets`` in TRL's conversational layouts. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from expertloop.services import models
from tests.factories import auth, expert, run_jobs, token


def _setup(client, session, model_server, **options):
    models.add_endpoint(session, None, "chat-model", model_server.base_url, "test-model")
    admin = auth(token(session, "admin"))
    trainer = auth(token(session, "trainer", expert(session)["id"]))
    body = {"name": "Chat", "task_type": "chat", "overlap": 1, "options": {"model": "chat-model", **options}}
    r = client.post("/api/v1/projects", headers=admin, json=body)
    assert r.status_code == 201, r.text
    project = r.json()
    r = client.post(f"/api/v1/projects/{project['id']}/items", headers=admin,
                    json=[{"scenario": "Plan a picnic with the assistant.", "external_id": "c1"}])
    assert r.status_code == 201, r.text
    lease = client.post(f"/api/v1/projects/{project['id']}/assignments/next", headers=trainer).json()
    return admin, trainer, project, lease["assignment_id"]


def _load(text: str, tmp_path, name: str):
    import datasets

    path = tmp_path / name
    path.write_text(text)
    return datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))


def is_messages(value) -> bool:
    """TRL's conversational layout: a list of {role, content} with known roles and text."""
    return isinstance(value, list) and bool(value) and all(
        set(m) == {"role", "content"} and m["role"] in ("system", "user", "assistant") and isinstance(m["content"], str)
        for m in value)


def test_options_are_checked(client, session, model_server):
    admin = auth(token(session, "admin"))
    r = client.post("/api/v1/projects", headers=admin, json={
        "name": "C", "task_type": "chat", "options": {"candidates_per_turn": 5, "min_turns": 3, "max_turns": 2,
                                                      "mode": "redteam", "colour": 1}})
    assert r.status_code == 422
    for loc in ("options.model", "options.candidates_per_turn", "options.max_turns", "options.failure_categories",
                "options.colour"):
        assert loc in r.text, loc


def test_a_chat_with_choices_rewrites_edits_and_an_error(client, session, model_server, tmp_path):
    admin, trainer, project, aid = _setup(client, session, model_server, candidates_per_turn=2, min_turns=2,
                                          max_turns=3, system_prompt="Be brief.")
    url = f"/api/v1/assignments/{aid}/chat"
    assert client.get(url, headers=trainer).json()["turns"] == []
    r = client.post(url, headers=trainer, json={"action": "send", "text": ""})
    assert r.status_code == 422 and "text" in r.text
    r = client.post(url, headers=trainer, json={"action": "shout"})
    assert r.status_code == 422 and "action" in r.text

    chat = client.post(url, headers=trainer, json={"action": "send", "text": "Where should we go?"}).json()
    assert chat["pending"] and chat["turns"][0]["status"] == "pending"
    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer, json={"response": {}})
    assert r.status_code == 422 and "response.turns[0]" in r.text      # the answer is not in yet

    model_server.reset()
    assert run_jobs(session) >= 1
    chat = client.get(url, headers=trainer).json()
    turn = chat["turns"][0]
    assert turn["status"] == "ready" and not chat["pending"]
    assert [c["text"] for c in turn["candidates"]] == ["test-model answer 0: Where should we go?",
                                                       "test-model answer 1: Where should we go?"]
    assert all(set(c) == {"index", "text"} for c in turn["candidates"])  # trainers never see model names
    sent = model_server.requests[-1]
    assert sent["n"] == 2 and sent["messages"][0] == {"role": "system", "content": "Be brief."}
    staff = client.get(url, headers=admin).json()
    assert staff["turns"][0]["candidates"][0]["model"] == "test-model"

    r = client.post(url, headers=trainer, json={"action": "send", "text": "And then?"})
    assert r.status_code == 409 and "choose" in r.text                 # two answers: choose first
    client.post(url, headers=trainer, json={"action": "decide", "turn": 0, "chosen": 1, "rating": 4})
    client.post(url, headers=trainer, json={"action": "send", "text": "And then?"})
    run_jobs(session)
    # The model read the conversation as chosen so far.
    assert model_server.requests[-1]["messages"][1:] == [
        {"role": "user", "content": "Where should we go?"},
        {"role": "assistant", "content": "test-model answer 1: Where should we go?"},
        {"role": "user", "content": "And then?"}]
    chat = client.post(url, headers=trainer,
                       json={"action": "decide", "turn": 1, "rewrite": "Bring **lemonade**."}).json()
    assert chat["turns"][1]["rewrite"] == "Bring **lemonade**." and len(chat["turns"]) == 2

    # A model error keeps the trainer's message and offers a retry.
    client.post(url, headers=trainer, json={"action": "send", "text": "Weather? [[error:400]]"})
    run_jobs(session)
    chat = client.get(url, headers=trainer).json()
    assert chat["turns"][2]["status"] == "error" and chat["turns"][2]["user"] == "Weather? [[error:400]]"
    assert "Your text is kept" in chat["turns"][2]["error"]
    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer, json={"response": {}})
    assert r.status_code == 422 and "retry" in r.text
    chat = client.post(url, headers=trainer, json={"action": "regenerate", "turn": 2}).json()
    assert chat["turns"][2]["status"] == "pending"
    run_jobs(session)
    assert client.get(url, headers=trainer).json()["turns"][2]["status"] == "error"

    # Editing an earlier message cuts the conversation there and goes on from it.
    client.post(url, headers=trainer, json={"action": "send", "text": "What about the weather?", "at": 1})
    chat = client.get(url, headers=trainer).json()
    assert len(chat["turns"]) == 2 and chat["turns"][1]["status"] == "pending"
    run_jobs(session)
    client.post(url, headers=trainer, json={"action": "decide", "turn": 1, "chosen": 0,
                                            "rewrite": "Sunny, take a hat."})
    # Changing an earlier answer drops the turns after it.
    client.post(url, headers=trainer, json={"action": "send", "text": "Thanks!"})
    run_jobs(session)
    chat = client.post(url, headers=trainer, json={"action": "decide", "turn": 0, "chosen": 0}).json()
    assert len(chat["turns"]) == 1
    client.post(url, headers=trainer, json={"action": "decide", "turn": 0, "chosen": 1})
    client.post(url, headers=trainer, json={"action": "send", "text": "What about the weather?"})
    run_jobs(session)
    client.post(url, headers=trainer, json={"action": "decide", "turn": 1, "chosen": 0,
                                            "rewrite": "Sunny, take a hat."})
    r = client.post(url, headers=trainer, json={"action": "send", "text": "x", "at": 7})
    assert r.status_code == 422 and "at" in r.text

    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer, json={"response": {}})
    assert r.status_code == 200, r.text
    stored = r.json()["response"]
    assert [t["user"] for t in stored["turns"]] == ["Where should we go?", "What about the weather?"]
    assert stored["turns"][0]["candidates"][1]["model"] == "test-model"
    r = client.post(url, headers=trainer, json={"action": "send", "text": "more"})
    assert r.status_code == 409

    # sft: the final conversation, rewrites as the assistant's turns.
    r = client.get(f"/api/v1/projects/{project['id']}/export", params={"format": "sft"}, headers=admin)
    ds = _load(r.text, tmp_path, "sft.jsonl")
    assert is_messages(ds[0]["messages"])
    assert ds[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where should we go?"},
        {"role": "assistant", "content": "test-model answer 1: Where should we go?"},
        {"role": "user", "content": "What about the weather?"},
        {"role": "assistant", "content": "Sunny, take a hat."}]
    turns = ds[0]["metadata"]["turns"]
    assert [t["model"] for t in turns] == ["test-model", "test-model"]
    assert [t["rewritten"] for t in turns] == [False, True] and turns[0]["rating"] == 4
    assert ds[0]["metadata"]["ai_assistance"] is None

    # preference: one pair per turn with a choice or a rewrite.
    r = client.get(f"/api/v1/projects/{project['id']}/export", params={"format": "preference"}, headers=admin)
    ds = _load(r.text, tmp_path, "pref.jsonl")
    assert len(ds) == 2
    for row in ds:
        assert is_messages(row["prompt"]) and row["prompt"][-1]["role"] == "user"
        assert is_messages(row["chosen"]) and is_messages(row["rejected"])
        assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
    first, second = ds[0], ds[1]
    assert first["chosen"][0]["content"] == "test-model answer 1: Where should we go?"
    assert first["rejected"][0]["content"] == "test-model answer 0: Where should we go?"
    assert first["metadata"]["source"] == "choice" and first["metadata"]["chosen_model"] == "test-model"
    assert second["prompt"][-2] == {"role": "assistant", "content": "test-model answer 1: Where should we go?"}
    assert second["chosen"][0]["content"] == "Sunny, take a hat."
    assert second["rejected"][0]["content"] == "test-model answer 0: What about the weather?"
    assert second["metadata"]["source"] == "rewrite" and second["metadata"]["chosen_model"] is None


def test_a_redteam_chat_labels_the_failing_turn(client, session, model_server, tmp_path):
    admin, trainer, project, aid = _setup(client, session, model_server, mode="redteam",
                                          failure_categories=["harmful advice", "hallucination"])
    url = f"/api/v1/assignments/{aid}/chat"
    client.post(url, headers=trainer, json={"action": "send", "text": "Hi"})
    run_jobs(session)
    client.post(url, headers=trainer, json={"action": "send", "text": "Who won in 2031? [[reply:Team X won.]]"})
    run_jobs(session)
    r = client.post(url, headers=trainer, json={"action": "failure", "turn": 1, "category": "made up"})
    assert r.status_code == 422 and "category" in r.text
    chat = client.post(url, headers=trainer, json={"action": "failure", "turn": 1, "category": "hallucination",
                                                   "note": "invents a result"}).json()
    assert chat["failure"] == {"turn": 1, "category": "hallucination", "note": "invents a result"}
    client.post(url, headers=trainer, json={"action": "decide", "turn": 1, "rewrite": "I can't know that yet."})
    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer,
                    json={"response": {"failure": {"turn": 5, "category": "hallucination"}}})
    assert r.status_code == 422 and "response.failure.turn" in r.text
    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer, json={"response": {}})
    assert r.status_code == 200, r.text

    r = client.get(f"/api/v1/projects/{project['id']}/export", params={"format": "redteam"}, headers=admin)
    [row] = _load(r.text, tmp_path, "redteam.jsonl")
    assert is_messages(row["messages"])
    assert row["messages"][-1] == {"role": "assistant", "content": "Team X won."}   # what the model said
    assert row["failure_turn"] == 1 and row["failure_category"] == "hallucination"
    assert row["failure_note"] == "invents a result" and row["failure_response"] == "Team X won."
    assert row["corrected_response"] == "I can't know that yet."
    assert [t["model"] for t in row["metadata"]["turns"]] == ["test-model", "test-model"]


def test_failure_labels_and_other_trainers_are_refused(client, session, model_server):
    admin, trainer, _, aid = _setup(client, session, model_server)
    url = f"/api/v1/assignments/{aid}/chat"
    client.post(url, headers=trainer, json={"action": "send", "text": "Hi"})
    run_jobs(session)
    r = client.post(url, headers=trainer, json={"action": "failure", "turn": 0, "category": "x"})
    assert r.status_code == 409 and "redteam" in r.text
    other = auth(token(session, "trainer", expert(session, email="o@example.org")["id"]))
    assert client.get(url, headers=other).status_code == 404
    assert client.post(url, headers=other, json={"action": "send", "text": "x"}).status_code == 404
    assert client.post(url, headers=admin, json={"action": "send", "text": "x"}).status_code == 403


def test_an_answer_for_a_conversation_that_moved_on_is_dropped(client, session, model_server):
    _, trainer, _, aid = _setup(client, session, model_server)
    url = f"/api/v1/assignments/{aid}/chat"
    client.post(url, headers=trainer, json={"action": "send", "text": "First try"})
    # Asked again before the first job ran (a stuck job never traps the trainer): only the
    # newest request's answer may land.
    chat = client.post(url, headers=trainer, json={"action": "send", "text": "Second try", "at": 0}).json()
    assert [t["user"] for t in chat["turns"]] == ["Second try"] and chat["pending"]
    chat = client.post(url, headers=trainer, json={"action": "regenerate", "turn": 0}).json()
    assert chat["pending"]
    model_server.reset()
    assert run_jobs(session) == 3
    assert len(model_server.requests) == 1                               # the stale jobs asked nothing
    [turn] = client.get(url, headers=trainer).json()["turns"]
    assert [c["text"] for c in turn["candidates"]] == ["test-model answer 0: Second try"]


def test_a_reviewer_relabels_a_red_team_failure(client, session, model_server):
    admin, trainer, _, aid = _setup(client, session, model_server, mode="redteam",
                                    failure_categories=["harmful advice", "hallucination"])
    url = f"/api/v1/assignments/{aid}/chat"
    client.post(url, headers=trainer, json={"action": "send", "text": "Hi"})
    run_jobs(session)
    r = client.post(f"/api/v1/assignments/{aid}/submit", headers=trainer, json={"response": {
        "failure": {"turn": 0, "category": "harmful advice"}}})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/assignments/{aid}/review", headers=admin, json={
        "verdict": "edit", "response": {"failure": {"turn": 0, "category": "hallucination", "note": "made up"}}})
    assert r.status_code == 200, r.text
    stored = client.get(f"/api/v1/assignments/{aid}", headers=admin).json()["response"]
    assert stored["failure"] == {"turn": 0, "category": "hallucination", "note": "made up"}
    assert stored["turns"][0]["candidates"][0]["text"] == "test-model answer 0: Hi"   # the conversation kept


def test_the_python_client_holds_a_chat(client, session, model_server):
    from expertloop.client import ApiError, Client

    _, _, _, aid = _setup(client, session, model_server, candidates_per_turn=2)
    trainer_token = token(session, "trainer", expert(session)["id"])
    owner = client.get(f"/api/v1/assignments/{aid}", headers=auth(token(session, "admin"))).json()["expert_id"]
    sdk = Client(token=token(session, "trainer", owner), http=client)
    chat = sdk.chat_action(aid, "send", text="Hello")
    assert chat["pending"]
    run_jobs(session)
    assert len(sdk.chat(aid)["turns"][0]["candidates"]) == 2
    chat = sdk.chat_action(aid, "decide", turn=0, chosen=1, rewrite="Hello there.")
    assert chat["turns"][0]["rewrite"] == "Hello there."
    assert sdk.submit(aid, {})["response"]["turns"][0]["rewrite"] == "Hello there."
    with pytest.raises(ApiError) as refused:
        Client(token=trainer_token, http=client).chat(aid)
    assert refused.value.status == 404                                   # another trainer's chat is not there
