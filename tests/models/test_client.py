"""The model client over real HTTP: the test model server (and a real endpoint when one is
configured), n choices, streaming, retries on 429/5xx with Retry-After, timeouts, the
per-endpoint concurrency limit, keys from the environment."""

from __future__ import annotations

import threading
import time

import pytest

from expertloop import llm


def endpoint(target_or_server, **kw) -> llm.Endpoint:
    if isinstance(target_or_server, dict):
        base = {"base_url": target_or_server["base_url"], "model": target_or_server["model"],
                "api_key_env": target_or_server["api_key_env"]}
    else:
        base = {"base_url": target_or_server.base_url, "model": "test-model"}
    return llm.Endpoint(**{"name": kw.pop("name", "t"), **base, **kw})


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_n_completions_with_usage_and_params(model_target):
    ep = endpoint(model_target, timeout_s=120)
    got = llm.complete(ep, [{"role": "user", "content": "Name a colour."}], n=2, temperature=0.7, max_tokens=40)
    assert [c.index for c in got] == [0, 1]
    assert all(isinstance(c.text, str) and c.text for c in got)
    assert all(c.params["temperature"] == 0.7 and c.params["max_tokens"] == 40 for c in got)
    assert all(c.endpoint == "t" and c.model and c.usage.latency_ms >= 0 for c in got)
    if not model_target["real"]:
        assert [c.text for c in got] == ["test-model answer 0: Name a colour.", "test-model answer 1: Name a colour."]
        assert got[0].usage.prompt_tokens == 3 and got[0].usage.completion_tokens == 2 * 6
        assert got[0].finish_reason == "stop" and got[0].usage.attempts == 1
        assert got[0].provenance()["model"] == "test-model"


def test_streaming_hands_on_each_piece_and_returns_the_whole(model_target):
    ep = endpoint(model_target, timeout_s=120)
    pieces: list[str] = []
    c = llm.complete_streaming(ep, [{"role": "user", "content": "Say hello in three words."}],
                               on_delta=pieces.append, max_tokens=40)
    assert "".join(pieces) == c.text and c.text
    if not model_target["real"]:
        assert len(pieces) > 3
        assert c.text == "test-model answer 0: Say hello in three words."
        assert c.usage.prompt_tokens == 5 and c.finish_reason == "stop"


def test_max_tokens_cuts_the_answer(fresh_model_server):
    [c] = llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "one two three four five"}],
                       max_tokens=2)
    assert c.text == "test-model answer" and c.finish_reason == "length"


def test_429_waits_as_retry_after_says_then_succeeds(fresh_model_server):
    sleeps = Sleeps()
    [c] = llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "hi [[ratelimit:2]]"}], sleep=sleeps)
    assert sleeps == [1.0, 1.0]  # the server's Retry-After, not our own backoff
    assert c.usage.attempts == 3 and len(fresh_model_server.requests) == 3


def test_429_waits_for_real(fresh_model_server):
    start = time.monotonic()
    llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "real wait [[ratelimit:1]]"}])
    assert time.monotonic() - start >= 1.0


def test_5xx_is_retried_with_backoff(fresh_model_server):
    sleeps = Sleeps()
    [c] = llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "x [[flaky:2]]"}], sleep=sleeps)
    assert c.usage.attempts == 3 and len(sleeps) == 2 and all(0 <= s <= 30 for s in sleeps)


def test_a_server_that_keeps_failing_gives_up_after_max_retries(fresh_model_server):
    sleeps = Sleeps()
    with pytest.raises(llm.ModelUnavailable) as exc:
        llm.complete(endpoint(fresh_model_server, max_retries=2), [{"role": "user", "content": "[[error:500]]"}],
                     sleep=sleeps)
    assert exc.value.status == 500 and exc.value.attempts == 3 and "HTTP 500" in exc.value.message
    assert len(fresh_model_server.requests) == 3 and len(sleeps) == 2


def test_a_4xx_is_not_retried(fresh_model_server):
    with pytest.raises(llm.ModelRequestError) as exc:
        llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "[[error:400]]"}], sleep=Sleeps())
    assert exc.value.status == 400 and "test server error 400" in exc.value.message
    assert len(fresh_model_server.requests) == 1


def test_an_answer_that_is_not_json_is_an_error(fresh_model_server):
    with pytest.raises(llm.ModelResponseError, match="not JSON"):
        llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "[[garbage]]"}])


def test_a_slow_answer_times_out_and_is_retried(fresh_model_server):
    ep = endpoint(fresh_model_server, timeout_s=0.2, max_retries=1)
    sleeps = Sleeps()
    with pytest.raises(llm.ModelUnavailable, match=r"no answer within 0.2 s") as exc:
        llm.complete(ep, [{"role": "user", "content": "[[slow:1]]"}], sleep=sleeps)
    assert exc.value.attempts == 2 and len(sleeps) == 1


def test_a_stream_cut_short_raises_and_is_not_asked_again(fresh_model_server):
    pieces: list[str] = []
    with pytest.raises(llm.ModelUnavailable, match="ended before the answer was complete"):
        llm.complete_streaming(endpoint(fresh_model_server), [{"role": "user", "content": "a b c d [[break-stream]]"}],
                               on_delta=pieces.append, sleep=Sleeps())
    assert "".join(pieces) == "test-model answer"  # what arrived was handed on
    assert len(fresh_model_server.requests) == 1


def test_a_stream_refused_before_any_text_is_retried(fresh_model_server):
    pieces: list[str] = []
    c = llm.complete_streaming(endpoint(fresh_model_server), [{"role": "user", "content": "s [[flaky:1]]"}],
                               on_delta=pieces.append, sleep=Sleeps())
    assert c.text == "test-model answer 0: s" and c.usage.attempts == 2


def test_at_most_max_concurrency_requests_in_flight_per_endpoint(fresh_model_server):
    ep = endpoint(fresh_model_server, name="limited", max_concurrency=2)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            llm.complete(ep, [{"role": "user", "content": f"q{i} [[slow:0.3]]"}])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(fresh_model_server.requests) == 6 and fresh_model_server.max_in_flight == 2


def test_the_key_comes_from_the_named_variable_at_call_time(monkeypatch):
    from tests.model_server import ModelServer

    server = ModelServer(api_key="secret-123").start()
    try:
        ep = llm.Endpoint(name="keyed", base_url=server.base_url, model="m", api_key_env="EL_TEST_MODEL_KEY")
        monkeypatch.delenv("EL_TEST_MODEL_KEY", raising=False)
        with pytest.raises(llm.ModelConfigError, match="EL_TEST_MODEL_KEY") as exc:
            llm.complete(ep, [{"role": "user", "content": "hi"}])
        assert not server.requests
        monkeypatch.setenv("EL_TEST_MODEL_KEY", "wrong")
        with pytest.raises(llm.ModelRequestError) as exc:
            llm.complete(ep, [{"role": "user", "content": "hi"}])
        assert exc.value.status == 401 and "wrong" not in exc.value.message
        monkeypatch.setenv("EL_TEST_MODEL_KEY", "secret-123")
        [c] = llm.complete(ep, [{"role": "user", "content": "hi"}])
        assert c.text == "m answer 0: hi"
    finally:
        server.stop()


def test_a_server_that_ignores_n_is_asked_again_for_the_rest(monkeypatch, fresh_model_server):
    # Ollama and llama.cpp answer one choice whatever n says.
    real = fresh_model_server._answer

    def one_choice(h, body):
        body = {**body, "n": 1}
        real(h, body)

    monkeypatch.setattr(fresh_model_server, "_answer", one_choice)
    got = llm.complete(endpoint(fresh_model_server), [{"role": "user", "content": "hi"}], n=3)
    assert [c.index for c in got] == [0, 1, 2] and len(fresh_model_server.requests) == 3
    assert [r.get("n", 1) for r in fresh_model_server.requests] == [3, 2, 1]


def test_unreachable_server(fresh_model_server):
    ep = llm.Endpoint(name="down", base_url="http://127.0.0.1:9/v1", model="m", max_retries=1)
    with pytest.raises(llm.ModelUnavailable, match="cannot reach"):
        llm.complete(ep, [{"role": "user", "content": "hi"}], sleep=Sleeps())
