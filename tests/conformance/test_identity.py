"""Identity scenarios run once for every adapter and ASGI framework: the app says who the
user is with ``segment_web.identify_request``; streamed bodies and work handed to a
thread pool keep the request's analytics; the automatic page is named after the route."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance import apps
from tests.conformance.drivers import DRIVERS, Driver, every_framework


def by_kind(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m.get("event") or m["type"]: m for m in messages}


def scenarios(prefix: str) -> Any:
    """Parametrize ``adapter`` and ``path`` over the frameworks that have the scenario."""
    pairs = [
        pytest.param(name, path, id=f"{name}-{path.strip('/')}")
        for name, adapter in sorted(DRIVERS.items())
        for path in sorted(adapter.paths)
        if path.startswith(prefix)
    ]
    return pytest.mark.parametrize(("adapter", "path"), pairs, indirect=["adapter"])


@scenarios("/who")
def test_identify_request_sets_the_user_for_the_request_and_its_page(
    adapter: Driver, path: str
) -> None:
    adapter.start()
    query = "?user=u-7" if adapter.name not in ("fastapi",) else ""
    headers = {"Authorization": "Bearer token-of-u-7"} if adapter.name == "fastapi" else None
    assert adapter.get(path + query, headers=headers).status == 200
    messages = by_kind(adapter.sent(2))  # no identify call was sent
    assert set(messages) == {"Who", "page"}
    assert messages["Who"]["userId"] == messages["page"]["userId"] == "u-7"
    assert messages["Who"]["anonymousId"] == messages["page"]["anonymousId"]


@every_framework
def test_without_identify_request_the_messages_have_no_user(adapter: Driver) -> None:
    adapter.start()
    assert adapter.get("/who/").status == 200
    for message in adapter.sent(2):
        assert "userId" not in message
        assert message["anonymousId"]


@scenarios("/stream")
def test_a_streamed_body_keeps_the_request_s_analytics(adapter: Driver, path: str) -> None:
    adapter.start()
    reply = adapter.get(path)
    assert (reply.status, reply.body) == (200, b"".join(apps.PARTS))
    messages = by_kind(adapter.sent(2))
    assert set(messages) == {"Streamed", "page"}
    assert messages["Streamed"]["anonymousId"] == messages["page"]["anonymousId"]
    assert messages["Streamed"]["context"]["page"]["path"] == path


@scenarios("/carry")
def test_carry_takes_the_request_s_analytics_into_a_thread_pool(adapter: Driver, path: str) -> None:
    adapter.start()
    assert adapter.get(path).status == 200
    messages = by_kind(adapter.sent(2))
    assert set(messages) == {"From Pool", "page"}
    assert messages["From Pool"]["anonymousId"] == messages["page"]["anonymousId"]
    assert messages["From Pool"]["context"]["page"]["path"] == path


@pytest.mark.parametrize("adapter", ["django"], indirect=True)
def test_a_drf_authentication_class_tells_the_user(adapter: Driver) -> None:
    adapter.start()
    assert adapter.get("/drf-who/", headers={"X-Api-Account": "7"}).status == 200
    messages = by_kind(adapter.sent(2))
    assert messages["Who"]["userId"] == messages["page"]["userId"] == "account-7"


@pytest.mark.parametrize(
    ("adapter", "path", "name"),
    [
        pytest.param("litestar", "/who/", "who", id="litestar-route-name"),
        pytest.param("litestar", "/items/7", "/items/{item_id}", id="litestar-template"),
        pytest.param("fastapi", "/who/", "who", id="fastapi-route-name"),
        pytest.param("quart", "/who/", "who", id="quart-endpoint"),
        pytest.param("quart", "/items/7", "item", id="quart-endpoint-with-parameter"),
    ],
    indirect=["adapter"],
)
def test_the_automatic_page_is_named_after_the_route(adapter: Driver, path: str, name: str) -> None:
    adapter.start()
    assert adapter.get(path).status == 200
    pages = [m for m in adapter.sent(2 if path == "/who/" else 1) if m["type"] == "page"]
    assert [page["name"] for page in pages] == [name]
