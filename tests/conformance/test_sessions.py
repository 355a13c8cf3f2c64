"""Session stitching (opt-in): the browser's session id from a header or a cookie, on
every message of the request, through every adapter; bad values count as absent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.drivers import Driver, every_framework

SESSION = "1733600000123"


def visit(adapter: Driver, headers: dict[str, str]) -> list[dict[str, Any]]:
    assert adapter.get("/who/", headers=headers).status == 200
    return adapter.sent(2)


@every_framework
def test_off_by_default(adapter: Driver) -> None:
    adapter.start()
    for message in visit(adapter, {"X-Session-Id": SESSION}):
        assert "sessionId" not in message["context"]
        assert "Actions Amplitude" not in message.get("integrations", {})


@every_framework
@pytest.mark.parametrize("source", ["header", "cookie"])
def test_the_session_id_is_stitched_on_every_message(adapter: Driver, source: str) -> None:
    adapter.start(session_id_header="X-Session-Id", session_id_cookie="analytics_session_id")
    headers = (
        {"X-Session-Id": SESSION}
        if source == "header"
        else {"Cookie": f"analytics_session_id={SESSION}"}
    )
    for message in visit(adapter, headers):
        assert message["context"]["sessionId"] == int(SESSION)
        assert message["integrations"]["Actions Amplitude"] == {"session_id": int(SESSION)}


@every_framework
@pytest.mark.parametrize("value", ["abc", "-5", "0", "1" * 17, "12.5", "1733600000123; x", "0x1f"])
def test_an_unusable_session_id_counts_as_absent(adapter: Driver, value: str) -> None:
    adapter.start(session_id_header="X-Session-Id")
    for message in visit(adapter, {"X-Session-Id": value}):
        assert "sessionId" not in message["context"]
        assert "Actions Amplitude" not in message.get("integrations", {})
