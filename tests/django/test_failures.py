"""Analytics never breaks a request; the view's own exceptions still propagate."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.test.utils import override_settings

from segment_web.core.handle import current_request_analytics
from segment_web.web.integration import Integration
from tests.django.helpers import sent
from tests.django.views import PAGE
from tests.support.recording_server import RecordingServer


def test_a_user_id_callable_that_raises_is_logged_and_the_message_goes_anonymous(
    use_segment: Callable[..., Integration],
    server: RecordingServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    integration = use_segment(USER_ID="tests.django.views.failing_user_id")
    response = Client().get("/track/")
    assert response.status_code == 200
    (message,) = sent(integration, server, 1)
    assert "userId" not in message
    assert message["anonymousId"] == response.cookies["ajs_anonymous_id"].value
    assert "could not read the request's user id" in caplog.text


def test_a_client_that_fails_does_not_change_the_response(
    segment: Integration, caplog: pytest.LogCaptureFixture
) -> None:
    segment.client.shutdown()  # every later enqueue raises ClientClosedError
    response = Client().get("/")
    assert response.status_code == 200
    assert response.content.decode() == PAGE
    assert "ajs_anonymous_id" in response.cookies
    assert "automatic page call failed" in caplog.text


def test_a_request_that_cannot_be_read_still_gets_a_handle(
    use_segment: Callable[..., Integration],
    server: RecordingServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    integration = use_segment(USER_ID=lambda request: "u-1")
    # A malformed setting makes request.scheme raise ImproperlyConfigured.
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO",)):
        response = Client().get("/track/")
    assert response.status_code == 200
    (message,) = sent(integration, server, 1)
    assert message["userId"] == "u-1"
    assert "page" not in message["context"]
    assert "reading the request failed" in caplog.text


def test_a_disallowed_host_does_not_raise_in_the_middleware(
    segment: Integration, server: RecordingServer
) -> None:
    response = Client().get("/", headers={"host": "evil.example"})
    assert response.status_code == 200
    (page,) = sent(segment, server, 1)
    assert page["properties"]["url"] == "http://testserver/"


def test_an_exception_from_the_view_propagates_and_sends_no_page(
    segment: Integration, server: RecordingServer
) -> None:
    with pytest.raises(ValueError, match="the view failed"):
        Client().get("/boom/")
    assert current_request_analytics.get() is None
    segment.client.flush(timeout=10)
    assert server.messages == []
