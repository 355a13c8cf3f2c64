"""The per-request handle: pre-filled fields, explicit arguments win, contexts deep-merge."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

import segment_web
import segment_web.core.handle
from segment_web import Analytics, RequestAnalytics
from segment_web.core.handle import activate, deep_merge
from segment_web.testing import capture_events


@pytest.fixture
def client() -> Analytics:
    return Analytics("k", enable=False)


def handle_for(client: Analytics) -> RequestAnalytics:
    return RequestAnalytics(
        client,
        user_id="u1",
        anonymous_id="anon-1",
        context={"ip": "203.0.113.7", "page": {"path": "/a", "url": "https://x/a"}},
    )


def test_prefilled_fields_and_explicit_arguments_win(client: Analytics) -> None:
    handle = handle_for(client)
    with capture_events() as events:
        handle.track(event="Viewed")
        handle.track(event="Other", user_id="u2", context={"page": {"path": "/b"}, "app": "x"})
        handle.track({"event": "Mapped", "anonymousId": "anon-2"})
    first, second, third = events
    assert first["userId"] == "u1" and first["anonymousId"] == "anon-1"
    assert first["context"]["ip"] == "203.0.113.7"
    assert second["userId"] == "u2"
    assert second["context"]["page"] == {"path": "/b", "url": "https://x/a"}
    assert second["context"]["app"] == "x"
    assert second["context"]["library"]["name"] == "segment-web"
    assert third["anonymousId"] == "anon-2" and third["userId"] == "u1"


def test_identify_sets_the_user_for_the_rest_of_the_request(client: Analytics) -> None:
    handle = RequestAnalytics(client, anonymous_id="anon-1")
    with capture_events() as events:
        handle.track(event="Before")
        handle.identify(user_id=77, traits={"plan": "pro"})
        handle.track(event="After")
    assert "userId" not in events[0]
    assert events[2]["userId"] == "77" and events[2]["anonymousId"] == "anon-1"


def test_alias_defaults_previous_id_to_the_request_identity(client: Analytics) -> None:
    handle = RequestAnalytics(client, anonymous_id="anon-1")
    with capture_events() as events:
        handle.alias(user_id="new-user")
    assert events[0]["previousId"] == "anon-1"
    assert events[0]["userId"] == "new-user"
    assert "anonymousId" not in events[0]


def test_deep_merge_does_not_modify_its_inputs() -> None:
    base = {"a": {"b": 1, "c": 2}}
    override = {"a": {"c": 3}, "d": 4}
    assert deep_merge(base, override) == {"a": {"b": 1, "c": 3}, "d": 4}
    assert base == {"a": {"b": 1, "c": 2}} and override == {"a": {"c": 3}, "d": 4}


def test_module_level_calls_use_the_active_handle_across_threads_and_tasks(
    client: Analytics,
) -> None:
    handle = handle_for(client)
    with capture_events() as events, activate(handle):
        assert segment_web.current() is handle
        segment_web.track(event="In request")
        run_in_context = contextvars.copy_context().run
        worker = threading.Thread(
            target=run_in_context, args=(segment_web.track,), kwargs={"event": "T"}
        )
        worker.start()
        worker.join(5)

        async def task() -> None:
            segment_web.track(event="Async")

        asyncio.run(task())
    assert [e["userId"] for e in events] == ["u1", "u1", "u1"]
    assert segment_web.core.handle.current_request_analytics.get() is None


def test_repr_does_not_load_the_user(client: Analytics) -> None:
    loads: list[int] = []

    def load_user() -> str:
        loads.append(1)  # Django's request.user: a database query
        return "u9"

    handle = RequestAnalytics(client, user_id=load_user, anonymous_id="anon-1")
    assert repr(handle) == "<RequestAnalytics user_id=<not loaded> anonymous_id='anon-1'>"
    assert loads == []
    assert handle.user_id == "u9"
    assert repr(handle) == "<RequestAnalytics user_id='u9' anonymous_id='anon-1'>"


def test_identify_request_sets_user_and_traits_without_sending(client: Analytics) -> None:
    handle = RequestAnalytics(client, user_id=lambda: "from-resolver", anonymous_id="a-1")
    with capture_events() as events, activate(handle):
        segment_web.track(event="Before")
        segment_web.identify_request(42, traits={"plan": "pro"})
        segment_web.track(event="After")
    assert [e["type"] for e in events] == ["track", "track"]  # no identify went out
    assert [e.get("userId") for e in events] == ["from-resolver", "42"]
    assert "traits" not in events[0]["context"]
    assert events[1]["context"]["traits"] == {"plan": "pro"}


def test_identify_request_refuses_a_bad_id_and_a_call_outside_a_request(
    client: Analytics,
) -> None:
    with activate(RequestAnalytics(client, anonymous_id="a-1")):
        with pytest.raises(segment_web.ValidationError, match="user_id: must be a string"):
            segment_web.identify_request({"id": 1})  # type: ignore[arg-type]
        with pytest.raises(segment_web.ValidationError, match="traits: must be a mapping"):
            segment_web.identify_request("u1", traits=["plan"])  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match=r"outside a request.*segment_web\.carry"):
        segment_web.identify_request("u1")


def test_carry_takes_the_handle_into_a_thread_pool_and_run_in_executor(
    client: Analytics,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def send(event: str) -> str:
        return segment_web.track(event=event)

    handle = RequestAnalytics(client, user_id="u1", anonymous_id="a-1")
    with capture_events() as events, ThreadPoolExecutor(max_workers=2) as pool:
        with activate(handle):
            carried = segment_web.carry(send)
        assert carried.__name__ == "send"
        pool.submit(carried, "Submitted").result(timeout=10)

        async def in_loop() -> None:
            with activate(handle):
                call = segment_web.carry(send)
            await asyncio.get_running_loop().run_in_executor(pool, call, "In Executor")

        asyncio.run(in_loop())
    sent = [(e["event"], e["userId"]) for e in events]
    assert sent == [("Submitted", "u1"), ("In Executor", "u1")]
    assert segment_web.carry(send) is send  # outside a request: nothing to carry


def test_a_call_outside_a_request_without_ids_says_so(
    client: Analytics, no_default_client: None
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    segment_web.api.adopt_default(client)
    handle = RequestAnalytics(client, user_id="u1", anonymous_id="a-1")
    with activate(handle), ThreadPoolExecutor(max_workers=1) as pool:
        # Not carried: the pool's thread has no request's analytics.
        future = pool.submit(segment_web.track, event="Lost")
        with pytest.raises(segment_web.ValidationError) as raised:
            future.result(timeout=10)
    assert raised.value.field == "user_id"
    message = str(raised.value)
    assert "track needs user_id or anonymous_id" in message
    assert "outside a request" in message and "segment_web.carry(fn)" in message
