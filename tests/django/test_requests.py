"""Django specifics of what a request gives its messages: a track call from a view, the
logged-in user as the user id, module-level calls, the test fixture (the rules every
adapter shares are in tests/conformance)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from segment_web.core.handle import current_request_analytics
from segment_web.web.integration import Integration
from tests.django.helpers import sent
from tests.support.recording_server import RecordingServer

UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0"
COOKIE = "ajs_anonymous_id"


@pytest.fixture
def ada() -> User:
    user = User.objects.filter(username="ada").first()
    return user or User.objects.create_user("ada", password="lovelace")


def test_a_track_call_in_a_view_carries_the_request(
    segment: Integration, server: RecordingServer
) -> None:
    response = Client().get(
        "/track/?utm_source=news&utm_campaign=spring&q=1",
        headers={
            "host": "shop.example",
            "user-agent": UA,
            "accept-language": "fr-CH, fr;q=0.9, en;q=0.8",
            "referer": "https://search.example/?q=shoes",
        },
    )
    assert response.status_code == 200
    (message,) = sent(segment, server, 1)
    assert message["type"] == "track"
    assert message["event"] == "Button Clicked"
    assert message["properties"] == {"button": "buy"}
    assert message["messageId"] == response.json()["messageId"]
    assert "userId" not in message
    assert message["anonymousId"] == response.cookies[COOKIE].value
    uuid.UUID(message["anonymousId"])
    context = message["context"]
    assert context["ip"] == "127.0.0.1"
    assert context["userAgent"] == UA
    assert context["locale"] == "fr-CH"
    assert context["page"] == {
        "url": "http://shop.example/track/?utm_source=news&utm_campaign=spring&q=1",
        "path": "/track/",
        "search": "?utm_source=news&utm_campaign=spring&q=1",
        "referrer": "https://search.example/?q=shoes",
    }
    assert context["campaign"] == {"source": "news", "name": "spring"}
    assert context["library"]["name"] == "segment-web"
    assert server.accepted[0].body["writeKey"] == "django-test-key"


def test_the_logged_in_user_is_the_user_id(
    segment: Integration, server: RecordingServer, ada: User
) -> None:
    client = Client()
    first = client.get("/api/hello/")
    client.post("/login/", {"username": "ada", "password": "lovelace"})
    client.get("/track/")
    logged_in, clicked = sent(segment, server, 2)
    assert logged_in["event"] == "Logged In"
    assert logged_in["userId"] == clicked["userId"] == str(ada.pk)
    # The visitor's anonymous id stays, so the browser's earlier events join the user.
    assert logged_in["anonymousId"] == clicked["anonymousId"] == first.cookies[COOKIE].value


def test_after_login_in_a_view_the_page_call_has_the_new_user(
    segment: Integration, server: RecordingServer, ada: User
) -> None:
    Client().get("/login-then-page/?username=ada")
    before, page = sent(segment, server, 2)
    assert before["event"] == "Before Login"
    assert "userId" not in before
    assert page["type"] == "page"
    assert page["userId"] == str(ada.pk)


def test_a_request_that_sends_nothing_does_not_load_the_user(
    segment: Integration, server: RecordingServer, ada: User
) -> None:
    client = Client()
    client.force_login(ada)
    # SessionMiddleware adds "Vary: Cookie" once anything read the session.
    assert "Vary" not in client.get("/api/hello/")
    assert "Cookie" in client.get("/track/")["Vary"]
    (message,) = sent(segment, server, 1)
    assert message["userId"] == str(ada.pk)


@pytest.mark.parametrize(
    "user_id",
    ["tests.django.views.user_id_from_header", lambda request: request.META.get("HTTP_X_USER")],
    ids=["dotted-path", "callable"],
)
def test_user_id_setting(
    use_segment: Callable[..., Integration], server: RecordingServer, user_id: object
) -> None:
    integration = use_segment(USER_ID=user_id)
    Client().get("/track/", headers={"x-user": "u-42"})
    (message,) = sent(integration, server, 1)
    assert message["userId"] == "u-42"


def test_module_level_calls_use_the_request_handle_only_during_the_request(
    segment: Integration, server: RecordingServer
) -> None:
    response = Client().get("/module-track/", headers={"user-agent": UA})
    (message,) = sent(segment, server, 1)
    assert message["event"] == "Module Tracked"
    assert message["anonymousId"] == response.cookies[COOKIE].value
    assert message["context"]["userAgent"] == UA
    assert message["context"]["page"]["path"] == "/module-track/"
    assert current_request_analytics.get() is None


def test_the_segment_events_fixture_captures_the_adapter(
    segment: Integration, server: RecordingServer, segment_events: list[dict[str, object]]
) -> None:
    Client().get("/track/")
    Client().get("/")
    assert [(m["type"], m.get("event"), m.get("name")) for m in segment_events] == [
        ("track", "Button Clicked", None),
        ("page", None, "home"),
    ]
    segment.client.flush(timeout=10)
    assert server.messages == []  # captured instead of sent
